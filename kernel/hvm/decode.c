/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Instruction decoding for emulated MMIO (see decode.h).  The layout of an
 * instruction is SDM Vol. 2A §2.1 (prefixes, opcode, ModRM, SIB,
 * displacement, immediate); the 32/64-bit ModRM and SIB forms are Tables 2-2
 * and 2-3, the 16-bit forms Table 2-1, REX §2.2.1.
 */
#include "kernel/hvm/decode.h"
#include "kernel/errno.h"
#include "kernel/virt.h"

struct cursor {
	const u8 *bytes;
	unsigned avail; /* min(len, 15) */
	unsigned pos;
	bool overlong; /* the instruction went past 15 bytes */
};

static int take(struct cursor *c, unsigned n, u64 *value)
{
	u64 v = 0;

	if (c->pos + n > DECODE_MAX_LEN) {
		c->overlong = true;
		return -E_INVAL;
	}
	if (c->pos + n > c->avail)
		return -E_RANGE;
	for (unsigned i = 0; i < n; i++)
		v |= (u64)c->bytes[c->pos + i] << (8 * i);
	c->pos += n;
	if (value)
		*value = v;
	return 0;
}

static u64 sign_extend(u64 v, unsigned from_bytes)
{
	unsigned shift = 64 - 8 * from_bytes;

	if (from_bytes >= 8)
		return v;
	return (u64)((s64)(v << shift) >> shift);
}

static u64 truncate(u64 v, unsigned bytes)
{
	return bytes >= 8 ? v : v & ((1ULL << (8 * bytes)) - 1);
}

/* Skips ModRM's memory operand (SIB, displacement); *reg gets ModRM.reg
 * without REX.R.  A register operand (mod == 3) is no MMIO access. */
static int skip_modrm(struct cursor *c, bool addr16, u8 *modrm_out)
{
	u64 modrm, sib;
	int err = take(c, 1, &modrm);

	if (err)
		return err;
	*modrm_out = (u8)modrm;
	unsigned mod = modrm >> 6, rm = modrm & 7;
	if (mod == 3)
		return -E_INVAL;
	if (addr16) {
		/* Table 2-1: mod 00 rm 110 is disp16; mod 01 disp8; 10 disp16. */
		if (mod == 1)
			return take(c, 1, NULL);
		if (mod == 2 || (mod == 0 && rm == 6))
			return take(c, 2, NULL);
		return 0;
	}
	if (rm == 4) {
		err = take(c, 1, &sib);
		if (err)
			return err;
		/* Table 2-3: base 101 with mod 00 means disp32, no base. */
		if (mod == 0 && (sib & 7) == 5)
			return take(c, 4, NULL);
	} else if (mod == 0 && rm == 5) {
		return take(c, 4, NULL); /* disp32, or RIP+disp32 in 64-bit mode */
	}
	if (mod == 1)
		return take(c, 1, NULL);
	if (mod == 2)
		return take(c, 4, NULL);
	return 0;
}

int decode_insn(const u8 *bytes, unsigned len, enum decode_mode mode, struct decoded_insn *out)
{
	struct cursor c = { .bytes = bytes, .avail = MIN(len, (unsigned)DECODE_MAX_LEN) };
	bool opsize = false, rex_w = false;
	u8 rex = 0;
	u64 b;
	int err;

	/* Legacy prefixes, then at most one REX right before the opcode
	 * (a REX followed by a legacy prefix is ignored: SDM Vol. 2A §2.2.1). */
	for (;;) {
		err = take(&c, 1, &b);
		if (err)
			goto fail;
		if (b == 0x66) {
			opsize = true;
		} else if (b == 0x67 || b == 0xf2 || b == 0xf3) {
			return -E_NOTSUP;
		} else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 ||
			   b == 0x65 || b == 0xf0) {
			/* segment overrides do not change the gpa we were given;
			 * LOCK changes nothing for emulation */
		} else if (mode == DECODE_MODE_64 && (b & 0xf0) == 0x40) {
			rex = (u8)b;
			err = take(&c, 1, &b);
			if (err)
				goto fail;
			if (b == 0x66 || b == 0x67 || b == 0xf2 || b == 0xf3 ||
			    (b & 0xf0) == 0x40 || b == 0xf0)
				return -E_NOTSUP; /* prefix after REX: keep it simple */
			break;
		} else {
			break;
		}
	}
	rex_w = rex & 8;

	/* Operand size: SDM Vol. 1 §3.6.1, Table 3-4. */
	unsigned osz;
	if (mode == DECODE_MODE_64)
		osz = rex_w ? 8 : (opsize ? 2 : 4);
	else if (mode == DECODE_MODE_32)
		osz = opsize ? 2 : 4;
	else
		osz = opsize ? 4 : 2;
	bool addr16 = mode == DECODE_MODE_16;

	struct decoded_insn d = { 0 };
	unsigned opcode = (unsigned)b;
	u8 modrm = 0;
	bool has_modrm = true;
	unsigned imm_size = 0;

	if (opcode == 0x0f) {
		err = take(&c, 1, &b);
		if (err)
			goto fail;
		opcode = 0x0f00 | (unsigned)b;
	}

	switch (opcode) {
	case 0x88:
	case 0x89:
	case 0x8a:
	case 0x8b:
		d.op = opcode & 2 ? DECODE_OP_LOAD : DECODE_OP_STORE;
		d.size = opcode & 1 ? osz : 1;
		break;
	case 0xc6:
	case 0xc7:
		d.op = DECODE_OP_STORE;
		d.size = opcode & 1 ? osz : 1;
		d.has_imm = true;
		imm_size = d.size == 8 ? 4 : d.size; /* imm32 sign-extended */
		break;
	case 0xa0:
	case 0xa1:
	case 0xa2:
	case 0xa3:
		/* MOV AL/eAX <-> moffs: the offset is address-sized. */
		d.op = opcode & 2 ? DECODE_OP_STORE : DECODE_OP_LOAD;
		d.size = opcode & 1 ? osz : 1;
		d.reg = 0;
		has_modrm = false;
		err = take(&c, mode == DECODE_MODE_64 ? 8 : (addr16 ? 2 : 4), NULL);
		if (err)
			goto fail;
		break;
	case 0x0fb6:
	case 0x0fb7:
	case 0x0fbe:
	case 0x0fbf:
		d.op = DECODE_OP_LOAD;
		d.size = opcode & 1 ? 2 : 1;
		d.sign_extend = opcode & 8;
		break;
	case 0x08:
	case 0x09:
	case 0x0a:
	case 0x0b:
	case 0x20:
	case 0x21:
	case 0x22:
	case 0x23:
	case 0x30:
	case 0x31:
	case 0x32:
	case 0x33: {
		static const enum decode_op to_mem[4] = { DECODE_OP_OR, DECODE_OP_AND, 0,
							  DECODE_OP_XOR };
		static const enum decode_op to_reg[4] = { DECODE_OP_OR_LOAD, DECODE_OP_AND_LOAD, 0,
							  DECODE_OP_XOR_LOAD };
		unsigned k = (opcode >> 4) == 0 ? 0 : (opcode >> 4) == 2 ? 1 : 3;
		d.op = opcode & 2 ? to_reg[k] : to_mem[k];
		d.size = opcode & 1 ? osz : 1;
		break;
	}
	case 0x80:
	case 0x81:
	case 0x83:
		d.size = opcode == 0x80 ? 1 : osz;
		imm_size = opcode == 0x81 ? (d.size == 8 ? 4 : d.size) : 1;
		d.has_imm = true;
		break; /* the operation is ModRM.reg, checked below */
	case 0x84:
	case 0x85:
		d.op = DECODE_OP_TEST;
		d.size = opcode & 1 ? osz : 1;
		break;
	case 0xf6:
	case 0xf7:
		d.op = DECODE_OP_TEST;
		d.size = opcode & 1 ? osz : 1;
		d.has_imm = true;
		imm_size = d.size == 8 ? 4 : d.size;
		break;
	case 0x86:
	case 0x87:
		d.op = DECODE_OP_XCHG;
		d.size = opcode & 1 ? osz : 1;
		break;
	default:
		return -E_NOTSUP;
	}

	d.reg_size = d.size;
	if ((opcode & 0xfff0) == 0x0fb0)
		d.reg_size = osz;

	if (has_modrm) {
		err = skip_modrm(&c, addr16, &modrm);
		if (err)
			goto fail;
		unsigned regfield = (modrm >> 3) & 7;
		if (opcode == 0x80 || opcode == 0x81 || opcode == 0x83) {
			/* Group 1 (SDM Vol. 2 Table A-6): /1 OR, /4 AND, /6 XOR */
			if (regfield == 1)
				d.op = DECODE_OP_OR;
			else if (regfield == 4)
				d.op = DECODE_OP_AND;
			else if (regfield == 6)
				d.op = DECODE_OP_XOR;
			else
				return -E_NOTSUP;
		} else if (opcode == 0xc6 || opcode == 0xc7 || opcode == 0xf6 || opcode == 0xf7) {
			if (regfield != 0)
				return -E_NOTSUP; /* C6/C7 /0 MOV, F6/F7 /0 TEST only */
		} else {
			d.reg = (u8)(regfield | (rex & 4 ? 8 : 0));
			/* Byte registers 4-7 are AH CH DH BH without any REX
			 * (SDM Vol. 2A §3.1.1.1, Table 3-1; any REX selects SPL..DIL). */
			if (d.reg_size == 1 && !rex && regfield >= 4) {
				d.reg_high8 = true;
				d.reg = (u8)(regfield - 4);
			}
		}
	}
	if (imm_size) {
		u64 imm;
		err = take(&c, imm_size, &imm);
		if (err)
			goto fail;
		d.imm = truncate(sign_extend(imm, imm_size), d.size);
	}

	switch (d.op) {
	case DECODE_OP_LOAD:
		d.mem_read = true;
		break;
	case DECODE_OP_STORE:
		d.mem_write = true;
		break;
	case DECODE_OP_TEST:
	case DECODE_OP_OR_LOAD:
	case DECODE_OP_AND_LOAD:
	case DECODE_OP_XOR_LOAD:
		d.mem_read = true;
		break;
	default:
		d.mem_read = d.mem_write = true;
		break;
	}
	d.len = (u8)c.pos;
	*out = d;
	return 0;
fail:
	return c.overlong ? -E_INVAL : err;
}

u64 decode_reg_get(const struct guest_regs *regs, unsigned reg, unsigned size, bool high8)
{
	u64 v = *guest_reg((struct guest_regs *)regs, reg);

	if (high8)
		return (v >> 8) & 0xff;
	return truncate(v, size);
}

void decode_reg_set(struct guest_regs *regs, unsigned reg, unsigned size, bool high8, u64 value)
{
	u64 *r = guest_reg(regs, reg);

	if (high8)
		*r = (*r & ~0xff00ULL) | ((value & 0xff) << 8);
	else if (size == 4)
		*r = value & 0xffffffffULL; /* 32-bit results zero-extend */
	else if (size == 8)
		*r = value;
	else
		*r = (*r & ~truncate(~0ULL, size)) | truncate(value, size);
}

#define RFLAGS_CF (1ULL << 0)
#define RFLAGS_PF (1ULL << 2)
#define RFLAGS_ZF (1ULL << 6)
#define RFLAGS_SF (1ULL << 7)
#define RFLAGS_OF (1ULL << 11)

/* Flags of a logical operation: CF = OF = 0, SF ZF PF from the result (SDM
 * Vol. 2: AND, OR, XOR, TEST "Flags Affected"); AF is undefined: kept. */
static void logic_flags(struct guest_regs *r, u64 result, unsigned size)
{
	u64 f = r->rflags & ~(RFLAGS_CF | RFLAGS_PF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF);

	result = truncate(result, size);
	if (!result)
		f |= RFLAGS_ZF;
	if (result >> (8 * size - 1))
		f |= RFLAGS_SF;
	u8 low = (u8)result;
	low ^= low >> 4;
	low ^= low >> 2;
	low ^= low >> 1;
	if (!(low & 1)) /* PF: even number of ones in the low byte */
		f |= RFLAGS_PF;
	r->rflags = f;
}

static u64 logic(enum decode_op op, u64 a, u64 b)
{
	switch (op) {
	case DECODE_OP_OR:
	case DECODE_OP_OR_LOAD:
		return a | b;
	case DECODE_OP_XOR:
	case DECODE_OP_XOR_LOAD:
		return a ^ b;
	default:
		return a & b;
	}
}

void decode_emulate(const struct decoded_insn *d, struct guest_regs *regs,
		    const struct decode_mem_ops *ops, void *ctx)
{
	u64 src = d->has_imm ? d->imm : decode_reg_get(regs, d->reg, d->size, d->reg_high8);
	u64 mem, result;

	switch (d->op) {
	case DECODE_OP_LOAD:
		mem = truncate(ops->read(ctx, d->size), d->size);
		if (d->sign_extend)
			mem = truncate(sign_extend(mem, d->size), d->reg_size);
		decode_reg_set(regs, d->reg, d->reg_size, d->reg_high8, mem);
		break;
	case DECODE_OP_STORE:
		ops->write(ctx, d->size, src);
		break;
	case DECODE_OP_OR:
	case DECODE_OP_AND:
	case DECODE_OP_XOR:
		mem = truncate(ops->read(ctx, d->size), d->size);
		result = logic(d->op, mem, src);
		ops->write(ctx, d->size, truncate(result, d->size));
		logic_flags(regs, result, d->size);
		break;
	case DECODE_OP_OR_LOAD:
	case DECODE_OP_AND_LOAD:
	case DECODE_OP_XOR_LOAD:
		mem = truncate(ops->read(ctx, d->size), d->size);
		result = logic(d->op, src, mem);
		decode_reg_set(regs, d->reg, d->size, d->reg_high8, result);
		logic_flags(regs, result, d->size);
		break;
	case DECODE_OP_TEST:
		mem = truncate(ops->read(ctx, d->size), d->size);
		logic_flags(regs, mem & src, d->size);
		break;
	case DECODE_OP_XCHG:
		mem = truncate(ops->read(ctx, d->size), d->size);
		ops->write(ctx, d->size, src);
		decode_reg_set(regs, d->reg, d->size, d->reg_high8, mem);
		break;
	}
	regs->rip += d->len;
}

int decode_mov_cr(const u8 *bytes, unsigned len, enum decode_mode mode, struct decoded_mov_cr *out)
{
	unsigned n = 0, avail = MIN(len, (unsigned)DECODE_MAX_LEN);
	bool lock = false;
	u8 rex = 0;

	/* Legacy prefixes and REX, which only counts right before the
	 * opcode (SDM Vol. 2A §2.2.1). */
	for (;; n++) {
		if (n >= avail)
			return len >= DECODE_MAX_LEN ? -E_NOTSUP : -E_RANGE;
		u8 b = bytes[n];
		if (b == 0xf0) {
			lock = true;
			rex = 0;
		} else if (b == 0x66 || b == 0x67 || b == 0xf2 || b == 0xf3 || b == 0x26 ||
			   b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65) {
			rex = 0;
		} else if (mode == DECODE_MODE_64 && (b & 0xf0) == 0x40) {
			rex = b;
		} else {
			break;
		}
	}
	for (unsigned i = n; i < n + 3; i++) {
		if (i >= avail)
			return len >= DECODE_MAX_LEN ? -E_NOTSUP : -E_RANGE;
		if ((i == n && bytes[i] != 0x0f) ||
		    (i == n + 1 && bytes[i] != 0x20 && bytes[i] != 0x22))
			return -E_NOTSUP;
	}
	u8 modrm = bytes[n + 2];
	out->len = (u8)(n + 3);
	out->write = bytes[n + 1] == 0x22;
	out->cr = (u8)(((modrm >> 3) & 7) | (rex & 4 ? 8 : 0));
	if (lock && out->cr == 0)
		out->cr = 8;
	out->gpr = (u8)((modrm & 7) | (rex & 1 ? 8 : 0));
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the MMIO instruction decoder (kernel/hvm/decode.c): a table
 * of real encodings (assembled once with GNU as and copied here, so the
 * test needs nothing but cc), truncated and malformed inputs, and the
 * completion of decoded accesses against guest registers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/errno.h"
#include "kernel/hvm/decode.h"
#include "kernel/virt.h"

struct row {
	const char *text;
	enum decode_mode mode;
	u8 bytes[16];
	unsigned count;
	/* expected */
	unsigned len;
	enum decode_op op;
	unsigned size, reg_size, reg;
	bool high8, sign, has_imm;
	u64 imm;
};

#define M64 DECODE_MODE_64
#define M32 DECODE_MODE_32
#define M16 DECODE_MODE_16
#define B(...) { __VA_ARGS__ }, sizeof((u8[]){ __VA_ARGS__ })

static const struct row rows[] = {
	{ "mov %eax,0xb0(%rdx)", M64, B(0x89, 0x82, 0xb0, 0, 0, 0), 6, DECODE_OP_STORE, 4, 4, 0, 0,
	  0, 0, 0 },
	{ "mov 0x20(%rdi),%ecx", M64, B(0x8b, 0x4f, 0x20), 3, DECODE_OP_LOAD, 4, 4, 1, 0, 0, 0, 0 },
	{ "mov %r9,(%rax)", M64, B(0x4c, 0x89, 0x08), 3, DECODE_OP_STORE, 8, 8, 9, 0, 0, 0, 0 },
	{ "mov (%rax,%rbx,4),%r10d", M64, B(0x44, 0x8b, 0x14, 0x98), 4, DECODE_OP_LOAD, 4, 4, 10, 0,
	  0, 0, 0 },
	{ "movl $0x12345678,0x300(%rcx)", M64,
	  B(0xc7, 0x81, 0x00, 0x03, 0, 0, 0x78, 0x56, 0x34, 0x12), 10, DECODE_OP_STORE, 4, 4, 0, 0,
	  0, 1, 0x12345678 },
	{ "movq $-1,0(%rip)", M64, B(0x48, 0xc7, 0x05, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), 11,
	  DECODE_OP_STORE, 8, 8, 0, 0, 0, 1, ~0ULL },
	{ "movb $0x7f,(%rax)", M64, B(0xc6, 0x00, 0x7f), 3, DECODE_OP_STORE, 1, 1, 0, 0, 0, 1,
	  0x7f },
	{ "movw $0x1234,(%rbx)", M64, B(0x66, 0xc7, 0x03, 0x34, 0x12), 5, DECODE_OP_STORE, 2, 2, 0,
	  0, 0, 1, 0x1234 },
	{ "mov %ah,(%rcx)", M64, B(0x88, 0x21), 2, DECODE_OP_STORE, 1, 1, 0, 1, 0, 0, 0 },
	{ "mov %sil,(%rcx)", M64, B(0x40, 0x88, 0x31), 3, DECODE_OP_STORE, 1, 1, 6, 0, 0, 0, 0 },
	{ "movzbl (%rax),%eax", M64, B(0x0f, 0xb6, 0x00), 3, DECODE_OP_LOAD, 1, 4, 0, 0, 0, 0, 0 },
	{ "movzwq 0x10(%rdx),%r8", M64, B(0x4c, 0x0f, 0xb7, 0x42, 0x10), 5, DECODE_OP_LOAD, 2, 8, 8,
	  0, 0, 0, 0 },
	{ "movsbl (%rax),%edx", M64, B(0x0f, 0xbe, 0x10), 3, DECODE_OP_LOAD, 1, 4, 2, 0, 1, 0, 0 },
	{ "movswq (%rax),%rcx", M64, B(0x48, 0x0f, 0xbf, 0x08), 4, DECODE_OP_LOAD, 2, 8, 1, 0, 1, 0,
	  0 },
	{ "orl $0x100,0xf0(%rax)", M64, B(0x81, 0x88, 0xf0, 0, 0, 0, 0x00, 0x01, 0, 0), 10,
	  DECODE_OP_OR, 4, 4, 0, 0, 0, 1, 0x100 },
	{ "andl $-2,(%rax)", M64, B(0x83, 0x20, 0xfe), 3, DECODE_OP_AND, 4, 4, 0, 0, 0, 1,
	  0xfffffffe },
	{ "or %edx,(%rax)", M64, B(0x09, 0x10), 2, DECODE_OP_OR, 4, 4, 2, 0, 0, 0, 0 },
	{ "and (%rax),%r11d", M64, B(0x44, 0x23, 0x18), 3, DECODE_OP_AND_LOAD, 4, 4, 11, 0, 0, 0,
	  0 },
	{ "testl $0x1000,0x300(%rdx)", M64, B(0xf7, 0x82, 0x00, 0x03, 0, 0, 0x00, 0x10, 0, 0), 10,
	  DECODE_OP_TEST, 4, 4, 0, 0, 0, 1, 0x1000 },
	{ "xchg %eax,0xb0(%rcx)", M64, B(0x87, 0x81, 0xb0, 0, 0, 0), 6, DECODE_OP_XCHG, 4, 4, 0, 0,
	  0, 0, 0 },
	{ "movabs 0xfee000b0,%eax", M64, B(0xa1, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), 9,
	  DECODE_OP_LOAD, 4, 4, 0, 0, 0, 0, 0 },
	{ "movl $0,%fs:(%rax)", M64, B(0x64, 0xc7, 0x00, 0, 0, 0, 0), 7, DECODE_OP_STORE, 4, 4, 0,
	  0, 0, 1, 0 },
	{ "lock orl $1,(%rax)", M64, B(0xf0, 0x83, 0x08, 0x01), 4, DECODE_OP_OR, 4, 4, 0, 0, 0, 1,
	  1 },
	{ "mov 0x12345678(%rax,%rcx,8),%eax", M64, B(0x8b, 0x84, 0xc8, 0x78, 0x56, 0x34, 0x12), 7,
	  DECODE_OP_LOAD, 4, 4, 0, 0, 0, 0, 0 },
	{ "mov 0(%rbp),%eax", M64, B(0x8b, 0x45, 0x00), 3, DECODE_OP_LOAD, 4, 4, 0, 0, 0, 0, 0 },
	{ "mov 0x12345678(,%rcx,1),%eax", M64, B(0x8b, 0x04, 0x0d, 0x78, 0x56, 0x34, 0x12), 7,
	  DECODE_OP_LOAD, 4, 4, 0, 0, 0, 0, 0 },
	{ "mov %eax,0xfee000b0 (32-bit)", M32, B(0xa3, 0xb0, 0x00, 0xe0, 0xfe), 5, DECODE_OP_STORE,
	  4, 4, 0, 0, 0, 0, 0 },
	{ "mov 0xfee00020,%eax (32-bit)", M32, B(0xa1, 0x20, 0x00, 0xe0, 0xfe), 5, DECODE_OP_LOAD,
	  4, 4, 0, 0, 0, 0, 0 },
	{ "mov %ax,(%ebx) (32-bit)", M32, B(0x66, 0x89, 0x03), 3, DECODE_OP_STORE, 2, 2, 0, 0, 0, 0,
	  0 },
	{ "mov %ax,(%bx) (16-bit)", M16, B(0x89, 0x07), 2, DECODE_OP_STORE, 2, 2, 0, 0, 0, 0, 0 },
	{ "mov %eax,0x1234 (16-bit)", M16, B(0x66, 0xa3, 0x34, 0x12), 4, DECODE_OP_STORE, 4, 4, 0,
	  0, 0, 0, 0 },
	{ "mov 0x10(%bp,%si),%ax (16-bit)", M16, B(0x8b, 0x42, 0x10), 3, DECODE_OP_LOAD, 2, 2, 0, 0,
	  0, 0, 0 },
};

static void decodes_real_encodings(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct decoded_insn d;
		int err = decode_insn(r->bytes, r->count, r->mode, &d);
		if (err || d.len != r->len || d.op != r->op || d.size != r->size)
			print_message("row: %s\n", r->text); /* names the failing row */
		assert_int_equal(err, 0);
		assert_int_equal(d.len, r->len);
		assert_int_equal(d.op, r->op);
		assert_int_equal(d.size, r->size);
		assert_int_equal(d.reg_size, r->reg_size);
		assert_int_equal(d.has_imm, r->has_imm);
		if (r->has_imm)
			assert_int_equal(d.imm, r->imm);
		else
			assert_int_equal(d.reg, r->reg);
		assert_int_equal(d.reg_high8, r->high8);
		assert_int_equal(d.sign_extend, r->sign);
	}
}

static void extra_bytes_after_instruction_are_ignored(void **state)
{
	(void)state;
	u8 bytes[15] = { 0x8b, 0x4f, 0x20, 0x90, 0x90, 0x90 };
	struct decoded_insn d;
	assert_int_equal(decode_insn(bytes, sizeof(bytes), M64, &d), 0);
	assert_int_equal(d.len, 3);
}

static void every_truncation_asks_for_more(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct decoded_insn d;
		for (unsigned n = 0; n < rows[i].count; n++)
			assert_int_equal(decode_insn(rows[i].bytes, n, rows[i].mode, &d), -E_RANGE);
	}
}

static void register_operand_is_refused(void **state)
{
	(void)state;
	struct decoded_insn d;
	const u8 mov_reg[] = { 0x89, 0xc0 }; /* mov %eax,%eax */
	assert_int_equal(decode_insn(mov_reg, sizeof(mov_reg), M64, &d), -E_INVAL);
}

static void overlong_instruction_is_refused(void **state)
{
	(void)state;
	struct decoded_insn d;
	u8 b[20];
	memset(b, 0x2e, sizeof(b)); /* 14 segment prefixes, then mov */
	b[14] = 0x8b;
	b[15] = 0x00;
	assert_int_equal(decode_insn(b, sizeof(b), M64, &d), -E_INVAL);
	/* 13 prefixes + 8b 00 is exactly 15 bytes: fine */
	memset(b, 0x2e, sizeof(b));
	b[13] = 0x8b;
	b[14] = 0x00;
	assert_int_equal(decode_insn(b, sizeof(b), M64, &d), 0);
	assert_int_equal(d.len, 15);
}

static void unhandled_prefixes_and_opcodes_are_refused(void **state)
{
	(void)state;
	struct decoded_insn d;
	const u8 addr32[] = { 0x67, 0x8b, 0x00 };
	const u8 rep_stos[] = { 0xf3, 0xab };
	const u8 rep_mov[] = { 0xf3, 0x89, 0x00 };
	const u8 add[] = { 0x01, 0x00 };
	const u8 grp1_add[] = { 0x83, 0x00, 0x01 };   /* addl $1,(%rax): /0 */
	const u8 c7_1[] = { 0xc7, 0x08, 0, 0, 0, 0 }; /* C7 /1 is not MOV */
	const u8 rex_in_32[] = { 0x48, 0x89, 0x00 };  /* dec %eax in 32-bit */
	assert_int_equal(decode_insn(addr32, 3, M64, &d), -E_NOTSUP);
	assert_int_equal(decode_insn(rep_stos, 2, M64, &d), -E_NOTSUP);
	assert_int_equal(decode_insn(rep_mov, 3, M64, &d), -E_NOTSUP);
	assert_int_equal(decode_insn(add, 2, M64, &d), -E_NOTSUP);
	assert_int_equal(decode_insn(grp1_add, 3, M64, &d), -E_NOTSUP);
	assert_int_equal(decode_insn(c7_1, 6, M64, &d), -E_NOTSUP);
	assert_int_equal(decode_insn(rex_in_32, 3, M32, &d), -E_NOTSUP);
}

static void rex_w_beats_operand_size_prefix(void **state)
{
	(void)state;
	struct decoded_insn d;
	const u8 b[] = { 0x66, 0x48, 0x89, 0x00 }; /* mov %rax,(%rax) */
	assert_int_equal(decode_insn(b, sizeof(b), M64, &d), 0);
	assert_int_equal(d.size, 8);
}

/* A memory cell for decode_emulate. */
struct cell {
	u64 value;
	unsigned reads, writes, last_size;
};

static u64 cell_read(void *ctx, unsigned size)
{
	struct cell *c = ctx;
	c->reads++;
	c->last_size = size;
	return c->value;
}

static void cell_write(void *ctx, unsigned size, u64 v)
{
	struct cell *c = ctx;
	c->writes++;
	c->last_size = size;
	c->value = v;
}

static const struct decode_mem_ops cell_ops = { cell_read, cell_write };

static void run(const u8 *b, unsigned n, enum decode_mode m, struct guest_regs *r, struct cell *c)
{
	struct decoded_insn d;
	assert_int_equal(decode_insn(b, n, m, &d), 0);
	decode_emulate(&d, r, &cell_ops, c);
}

static void emulated_load_zero_extends_32_bit_results(void **state)
{
	(void)state;
	struct guest_regs r = { .rcx = 0xffffffffffffffffULL, .rip = 0x1000 };
	struct cell c = { .value = 0x12345678 };
	const u8 b[] = { 0x8b, 0x4f, 0x20 }; /* mov 0x20(%rdi),%ecx */
	run(b, sizeof(b), M64, &r, &c);
	assert_int_equal(r.rcx, 0x12345678);
	assert_int_equal(r.rip, 0x1003);
	assert_int_equal(c.reads, 1);
	assert_int_equal(c.writes, 0);
}

static void emulated_narrow_loads_keep_upper_bits(void **state)
{
	(void)state;
	struct guest_regs r = { .rax = 0x1111111111111111ULL };
	struct cell c = { .value = 0xabcd };
	const u8 mov16[] = { 0x66, 0x8b, 0x00 }; /* mov (%rax),%ax */
	run(mov16, sizeof(mov16), M64, &r, &c);
	assert_int_equal(r.rax, 0x111111111111abcdULL);
	const u8 mov_ah[] = { 0x8a, 0x20 }; /* mov (%rax),%ah */
	c.value = 0x5a;
	run(mov_ah, sizeof(mov_ah), M64, &r, &c);
	assert_int_equal(r.rax, 0x1111111111115acdULL);
}

static void emulated_movsx_and_movzx(void **state)
{
	(void)state;
	struct guest_regs r = { .rcx = 0x1234, .rax = 0xffff };
	struct cell c = { .value = 0x8001 };
	const u8 movswq[] = { 0x48, 0x0f, 0xbf, 0x08 };
	run(movswq, sizeof(movswq), M64, &r, &c);
	assert_int_equal(r.rcx, 0xffffffffffff8001ULL);
	const u8 movzbl[] = { 0x0f, 0xb6, 0x00 };
	c.value = 0xfe;
	run(movzbl, sizeof(movzbl), M64, &r, &c);
	assert_int_equal(r.rax, 0xfe);
}

static void emulated_stores_take_register_or_immediate(void **state)
{
	(void)state;
	struct guest_regs r = { .rax = 0xdeadbeefcafef00dULL, .rsi = 0x77 };
	struct cell c = { 0 };
	const u8 st32[] = { 0x89, 0x82, 0xb0, 0, 0, 0 };
	run(st32, sizeof(st32), M64, &r, &c);
	assert_int_equal(c.value, 0xcafef00d);
	assert_int_equal(c.last_size, 4);
	const u8 st_ah[] = { 0x88, 0x21 };
	run(st_ah, sizeof(st_ah), M64, &r, &c);
	assert_int_equal(c.value, 0xf0);
	const u8 st_sil[] = { 0x40, 0x88, 0x31 };
	run(st_sil, sizeof(st_sil), M64, &r, &c);
	assert_int_equal(c.value, 0x77);
	const u8 imm64[] = { 0x48, 0xc7, 0x05, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	run(imm64, sizeof(imm64), M64, &r, &c);
	assert_int_equal(c.value, ~0ULL);
	assert_int_equal(c.last_size, 8);
	assert_int_equal(c.reads, 0);
}

static void emulated_or_and_test_set_flags(void **state)
{
	(void)state;
	struct guest_regs r = { .rflags = 0x2 | 0x1 | 0x800 };
	struct cell c = { .value = 0xff };
	const u8 orl[] = { 0x81, 0x88, 0xf0, 0, 0, 0, 0x00, 0x01, 0, 0 }; /* orl $0x100 */
	run(orl, sizeof(orl), M64, &r, &c);
	assert_int_equal(c.value, 0x1ff);
	assert_int_equal(c.reads, 1);
	assert_int_equal(c.writes, 1);
	assert_false(r.rflags & 0x1);	/* CF cleared */
	assert_false(r.rflags & 0x800); /* OF cleared */
	assert_false(r.rflags & 0x40);	/* not zero */
	assert_true(r.rflags & 0x4);	/* 0xff: eight ones, even parity */
	const u8 testl[] = { 0xf7, 0x82, 0x00, 0x03, 0, 0, 0x00, 0x10, 0, 0 }; /* testl $0x1000 */
	run(testl, sizeof(testl), M64, &r, &c);
	assert_true(r.rflags & 0x40);		/* 0x1ff & 0x1000 == 0 */
	assert_int_equal(c.writes, 1);		/* TEST does not write */
	const u8 andl[] = { 0x83, 0x20, 0xfe }; /* andl $-2 */
	c.value = 0x80000001;
	run(andl, sizeof(andl), M64, &r, &c);
	assert_int_equal(c.value, 0x80000000);
	assert_true(r.rflags & 0x80); /* SF */
}

static void emulated_xchg_swaps(void **state)
{
	(void)state;
	struct guest_regs r = { .rax = 0x11 };
	struct cell c = { .value = 0x22 };
	const u8 b[] = { 0x87, 0x81, 0xb0, 0, 0, 0 };
	run(b, sizeof(b), M64, &r, &c);
	assert_int_equal(r.rax, 0x22);
	assert_int_equal(c.value, 0x11);
}

/* MOV to/from CR8 as an SVM guest without decode assists runs it. */
static void mov_cr8_register_and_length(void **state)
{
	(void)state;
	struct decoded_mov_cr d;
	const u8 to_rax[] = { 0x44, 0x0f, 0x22, 0xc0 };	  /* mov %rax,%cr8 */
	const u8 from_r13[] = { 0x45, 0x0f, 0x20, 0xc5 }; /* mov %cr8,%r13 */
	const u8 lock_cr0[] = { 0xf0, 0x0f, 0x22, 0xc1 }; /* lock mov %ecx,%cr0 */
	const u8 to_cr4[] = { 0x0f, 0x22, 0xe3 };	  /* mov %rbx,%cr4 */
	const u8 mov[] = { 0x89, 0xc0 };

	assert_int_equal(decode_mov_cr(to_rax, sizeof(to_rax), M64, &d), 0);
	assert_int_equal(d.len, 4);
	assert_true(d.write);
	assert_int_equal(d.cr, 8);
	assert_int_equal(d.gpr, 0);
	assert_int_equal(decode_mov_cr(from_r13, sizeof(from_r13), M64, &d), 0);
	assert_int_equal(d.len, 4);
	assert_false(d.write);
	assert_int_equal(d.cr, 8);
	assert_int_equal(d.gpr, 13);
	assert_int_equal(decode_mov_cr(lock_cr0, sizeof(lock_cr0), M32, &d), 0);
	assert_int_equal(d.cr, 8);
	assert_int_equal(d.gpr, 1);
	assert_int_equal(decode_mov_cr(to_cr4, sizeof(to_cr4), M64, &d), 0);
	assert_int_equal(d.len, 3);
	assert_int_equal(d.cr, 4);
	assert_int_equal(d.gpr, 3);
	assert_int_equal(decode_mov_cr(to_rax, 3, M64, &d), -E_RANGE);
	assert_int_equal(decode_mov_cr(mov, sizeof(mov), M64, &d), -E_NOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_real_encodings),
		cmocka_unit_test(extra_bytes_after_instruction_are_ignored),
		cmocka_unit_test(every_truncation_asks_for_more),
		cmocka_unit_test(register_operand_is_refused),
		cmocka_unit_test(overlong_instruction_is_refused),
		cmocka_unit_test(unhandled_prefixes_and_opcodes_are_refused),
		cmocka_unit_test(rex_w_beats_operand_size_prefix),
		cmocka_unit_test(emulated_load_zero_extends_32_bit_results),
		cmocka_unit_test(emulated_narrow_loads_keep_upper_bits),
		cmocka_unit_test(emulated_movsx_and_movzx),
		cmocka_unit_test(emulated_stores_take_register_or_immediate),
		cmocka_unit_test(emulated_or_and_test_set_flags),
		cmocka_unit_test(emulated_xchg_swaps),
		cmocka_unit_test(mov_cr8_register_and_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

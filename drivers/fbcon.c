/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The framebuffer text console (see fbcon.h): a grid of cells filled by
 * fbcon_put, and a painter that copies the cells that changed onto the
 * framebuffer under a deadline and a budget.
 */
#include "drivers/fbcon.h"
#include "arch/x86/cpu.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"

#define CELL(glyph, colour) ((u16)((glyph) | (colour) << 12))
#define CELL_GLYPH(cell) ((cell)&0xfff)
#define CELL_COLOUR(cell) ((cell) >> 12)
#define PREFIX_MAX 34
/* A 64-bit store to a framebuffer line that is only 4-byte aligned. */
typedef u64 u64_u __attribute__((aligned(4),
				 may_alias)); /* "[" + a partition name (PARTITA_NAME_MAX) + "]" */

/* (foreground, background) as 0xRRGGBB.  tests/integration/screen.py reads
 * the screen back with the same values. */
static const u32 palette[FBCON_COLOURS][2] = {
	[FBCON_TEXT] = { 0xc8c8c8, 0x000000 },	[FBCON_HV] = { 0xffd75f, 0x000000 },
	[FBCON_NAME] = { 0x5fd7ff, 0x000000 },	[FBCON_STATUS] = { 0xffffff, 0x1c3f73 },
	[FBCON_ALERT] = { 0xffffff, 0xaf1f1f },
};

static u32 to_pixel(u32 rgb, u32 format)
{
	/* Little-endian 32-bit pixels: BGRX has blue in the lowest byte. */
	if (format == FBCON_BGRX)
		return rgb;
	return (rgb & 0xff) << 16 | (rgb & 0xff00) | (rgb >> 16 & 0xff);
}

static u16 glyph_of(const struct fbcon *c, u32 cp)
{
	if (cp < 128)
		return c->ascii[cp];
	u32 lo = 0, hi = c->font->map_count;
	while (lo < hi) {
		u32 mid = (lo + hi) / 2;
		if (c->font->map[mid][0] == cp)
			return c->font->map[mid][1];
		if (c->font->map[mid][0] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c->fallback;
}

static u16 blank(const struct fbcon *c, unsigned colour)
{
	return CELL(c->ascii[' '], colour);
}

/* The cells screen row r should show. */
static const u16 *row_cells(const struct fbcon *c, u32 r)
{
	if (r == 0)
		return c->status;
	return c->grid[(c->top + r - 1) % c->lines];
}

static void mark(struct fbcon *c, u32 r)
{
	if (!c->dirty[r]) {
		c->dirty[r] = 1;
		c->dirty_count++;
	}
}

static void draw_cell(struct fbcon *c, u32 r, u32 x, u16 cell)
{
	const struct fbcon_font *f = c->font;
	const u8 *g = f->glyphs + (u64)CELL_GLYPH(cell) * f->height * f->row_bytes;
	u32 fg = c->pixel[CELL_COLOUR(cell)][0], bg = c->pixel[CELL_COLOUR(cell)][1];
	u8 *line = c->fb + (u64)r * f->height * c->stride + (u64)x * f->width * 4;

	if (f->width == 8) {
		/* Two pixels a store: the four pairs a pair of bits can be. */
		const u64 pair[4] = { (u64)bg << 32 | bg, (u64)fg << 32 | bg, (u64)bg << 32 | fg,
				      (u64)fg << 32 | fg };
		for (u32 y = 0; y < f->height; y++, line += c->stride) {
			u32 bits = g[y];
			u64_u *px = (u64_u *)line;
			px[0] = pair[bits >> 6];
			px[1] = pair[bits >> 4 & 3];
			px[2] = pair[bits >> 2 & 3];
			px[3] = pair[bits & 3];
		}
		return;
	}
	for (u32 y = 0; y < f->height; y++, line += c->stride, g += f->row_bytes) {
		u32 bits = g[0] << 8 | (f->row_bytes > 1 ? g[1] : 0);
		u32 *px = (u32 *)line;
		for (u32 i = 0; i < f->width; i++)
			px[i] = bits & (0x8000u >> i) ? fg : bg;
	}
}

static void fill_rect(struct fbcon *c, u32 x, u32 y, u32 w, u32 h, u32 pixel)
{
	for (u32 j = 0; j < h; j++) {
		u32 *px = (u32 *)(c->fb + (u64)(y + j) * c->stride) + x;
		for (u32 i = 0; i < w; i++)
			px[i] = pixel;
	}
}

int fbcon_init(struct fbcon *c, void *fb, u32 width, u32 height, u32 stride, u32 format)
{
	const struct fbcon_font *f = &fbcon_font;

	if ((format != FBCON_RGBX && format != FBCON_BGRX) || stride < width * 4 ||
	    width / f->width < 20 || height / f->height < 4)
		return -E_INVAL;
	memset(c, 0, sizeof(*c));
	c->fb = fb;
	c->width = width;
	c->height = height;
	c->stride = stride;
	c->font = f;
	c->cols = MIN(width / f->width, (u32)FBCON_MAX_COLS);
	c->rows = MIN(height / f->height, (u32)FBCON_MAX_ROWS);
	c->lines = c->rows - 1;
	c->jump = MAX(1u, c->lines / 4);
	c->filled = 1;
	for (unsigned k = 0; k < FBCON_COLOURS; k++) {
		c->pixel[k][0] = to_pixel(palette[k][0], format);
		c->pixel[k][1] = to_pixel(palette[k][1], format);
	}
	c->fallback = 0;
	for (u32 i = 0; i < f->map_count; i++)
		if (f->map[i][0] == '?')
			c->fallback = f->map[i][1];
	for (u32 cp = 0; cp < 128; cp++)
		c->ascii[cp] = c->fallback;
	for (u32 i = 0; i < f->map_count && f->map[i][0] < 128; i++)
		c->ascii[f->map[i][0]] = f->map[i][1];

	/* Everything black, the margins too; the status row blank.  The
	 * clearing is timed: it is the first estimate of a cell's cost. */
	fill_rect(c, 0, 0, width, height, c->pixel[FBCON_TEXT][1]);
	for (u32 x = 0; x < c->cols; x++)
		c->status[x] = blank(c, FBCON_STATUS);
	for (u32 l = 0; l < c->lines; l++)
		for (u32 x = 0; x < c->cols; x++)
			c->grid[l][x] = blank(c, FBCON_TEXT);
	u64 t0 = rdtsc();
	for (u32 r = 0; r < c->rows; r++)
		for (u32 x = 0; x < c->cols; x++)
			draw_cell(c, r, x, c->shown[r][x] = row_cells(c, r)[x]);
	c->stats.cell_tsc = (rdtsc() - t0) / ((u64)c->rows * c->cols) + 1;
	return 0;
}

/* The ring line the cursor is on, and the screen row that shows it. */
static u32 cursor_line(const struct fbcon *c)
{
	return (c->top + c->filled - 1) % c->lines;
}

static void newline(struct fbcon *c)
{
	c->col = 0;
	c->prefix = false;
	if (c->filled < c->lines) {
		c->filled++;
		mark(c, c->filled);
		return;
	}
	/* Jump scroll: the oldest c->jump lines go, the rest move up, and the
	 * log area is redrawn once for that many new lines, not once a line. */
	c->top = (c->top + c->jump) % c->lines;
	c->filled = c->lines - c->jump + 1;
	for (u32 k = c->filled; k <= c->lines; k++) {
		u16 *l = c->grid[(c->top + k - 1) % c->lines];
		for (u32 x = 0; x < c->cols; x++)
			l[x] = blank(c, FBCON_TEXT);
	}
	for (u32 r = 1; r < c->rows; r++)
		mark(c, r);
	c->stats.scrolls++;
	c->credit += (u64)c->lines * c->cols;
}

static void place(struct fbcon *c, u32 cp)
{
	if (c->col == c->cols)
		newline(c); /* wrap; the continuation is plain text */
	u16 *l = c->grid[cursor_line(c)];
	unsigned colour = FBCON_TEXT;

	if (c->col == 0 && cp == '[') {
		c->prefix = true;
		c->prefix_colour = FBCON_NAME;
	}
	if (c->prefix) {
		colour = c->prefix_colour;
		if (cp == ']') {
			c->prefix = false;
			if (c->col == 3 && CELL_GLYPH(l[1]) == c->ascii['h'] &&
			    CELL_GLYPH(l[2]) == c->ascii['v']) {
				for (u32 x = 0; x < 3; x++)
					l[x] = CELL(CELL_GLYPH(l[x]), FBCON_HV);
				colour = FBCON_HV;
			}
		} else if (cp == ' ' || c->col >= PREFIX_MAX) {
			/* Not a prefix after all. */
			c->prefix = false;
			for (u32 x = 0; x < c->col; x++)
				l[x] = CELL(CELL_GLYPH(l[x]), FBCON_TEXT);
			colour = FBCON_TEXT;
		}
	}
	l[c->col++] = CELL(glyph_of(c, cp), colour);
	mark(c, c->filled);
	c->credit++;
}

void fbcon_put(struct fbcon *c, u8 byte)
{
	if (c->utf8_need) {
		if ((byte & 0xc0) == 0x80) {
			c->utf8_cp = c->utf8_cp << 6 | (byte & 0x3f);
			if (--c->utf8_need == 0)
				place(c, c->utf8_cp);
			return;
		}
		c->utf8_need = 0; /* a broken sequence: one '?' for it */
		place(c, '?');
	}
	if (byte >= 0xc0 && byte < 0xf8) {
		c->utf8_need = byte >= 0xf0 ? 3 : byte >= 0xe0 ? 2 : 1;
		c->utf8_cp = byte & (0x3f >> c->utf8_need);
		return;
	}
	if (byte >= 0x80) {
		place(c, '?');
		return;
	}
	switch (byte) {
	case '\r':
		return;
	case '\n':
		newline(c);
		return;
	case '\t':
		do
			place(c, ' ');
		while (c->col % 8 && c->col < c->cols);
		return;
	default:
		place(c, byte < 0x20 || byte == 0x7f ? '?' : byte);
	}
}

void fbcon_set_status(struct fbcon *c, const char *text)
{
	bool alert = false;
	u32 x = 0;

	for (const char *s = text; *s && x < c->cols; s++) {
		if (*s == '!') {
			alert = !alert;
			continue;
		}
		u8 ch = (u8)*s;
		u16 cell =
			CELL(glyph_of(c, ch < 128 ? ch : '?'), alert ? FBCON_ALERT : FBCON_STATUS);
		if (c->status[x] != cell) {
			c->status[x] = cell;
			mark(c, 0);
		}
		x++;
	}
	for (; x < c->cols; x++) {
		if (c->status[x] != blank(c, FBCON_STATUS)) {
			c->status[x] = blank(c, FBCON_STATUS);
			mark(c, 0);
		}
	}
}

/* What one cell costs: rises at once to a slower cell, falls slowly (as
 * the console's fill estimate). */
static void cell_measured(struct fbcon *c, u64 took)
{
	u64 *e = &c->stats.cell_tsc;

	*e = took > *e ? took : *e - (*e - took) / 16;
	if (!*e)
		*e = 1;
}

bool fbcon_paint(struct fbcon *c, u64 deadline_tsc, u64 max_cells)
{
	if (!c->dirty_count)
		return true;
	u64 t0 = rdtsc(), drawn = 0;
	bool cut = false;

	for (u32 r = 0; r < c->rows && c->dirty_count && !cut; r++) {
		if (!c->dirty[r])
			continue;
		const u16 *want = row_cells(c, r);
		u16 *have = c->shown[r];
		u32 x;
		for (x = 0; x < c->cols; x++) {
			if (want[x] == have[x]) {
				/* Comparing is cheap, but a whole row of it
				 * is not free either. */
				if ((x & 15) == 15 && rdtsc() >= deadline_tsc) {
					cut = true;
					break;
				}
				continue;
			}
			if (drawn == max_cells) {
				cut = true;
				break;
			}
			u64 now = rdtsc();
			if (now + c->stats.cell_tsc >= deadline_tsc) {
				/* Refused for the estimate alone: lower it, so that
				 * one stretched cell (the host descheduled us) does
				 * not stop all drawing outside idle time. */
				if (now < deadline_tsc)
					c->stats.cell_tsc -= c->stats.cell_tsc / 16;
				cut = true;
				break;
			}
			draw_cell(c, r, x, want[x]);
			cell_measured(c, rdtsc() - now);
			have[x] = want[x];
			drawn++;
		}
		if (x == c->cols) {
			c->dirty[r] = 0;
			c->dirty_count--;
		}
	}
	u64 took = rdtsc() - t0;
	if (drawn) {
		c->stats.cells_drawn += drawn;
		c->stats.paints++;
	}
	if (cut)
		c->stats.cut_short++;
	if (took > c->stats.max_paint_tsc)
		c->stats.max_paint_tsc = took;
	return !c->dirty_count;
}

u64 fbcon_take_credit(struct fbcon *c)
{
	u64 credit = c->credit;

	c->credit = 0;
	return credit;
}

bool fbcon_busy(const struct fbcon *c)
{
	return c->dirty_count != 0;
}

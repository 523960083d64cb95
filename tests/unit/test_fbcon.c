/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of drivers/fbcon.c on a framebuffer in host memory, with the
 * font the build generates: text lands in the right cells with the font's
 * pixels and the palette's colours, scrolling keeps the last lines, long
 * lines wrap, prefixes get their colours, UTF-8 maps to the font's glyphs,
 * and painting stops at its budget and its deadline and resumes where it
 * stopped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "drivers/fbcon.h"

#define W 328 /* 41 columns of 8 pixels; 8 pixels of margin */
#define H 100 /* 6 rows of 16; 4 lines of margin */
#define STRIDE (W * 4 + 64)

static u8 fb[STRIDE * H];
static struct fbcon con;

static u8 *buf = fb;
static size_t buf_stride = STRIDE;

static u32 px(u32 x, u32 y)
{
	u32 v;
	memcpy(&v, buf + (size_t)y * buf_stride + x * 4, 4);
	return v;
}

static u16 glyph(u32 cp)
{
	for (u32 i = 0; i < fbcon_font.map_count; i++)
		if (fbcon_font.map[i][0] == cp)
			return fbcon_font.map[i][1];
	fail_msg("code point %#x not in the font", cp);
	return 0;
}

/* True if the cell at (row, col) shows cp in (fg, bg), pixel for pixel. */
static bool cell_is(u32 row, u32 col, u32 cp, u32 fg, u32 bg)
{
	const u8 *g =
		fbcon_font.glyphs + (size_t)glyph(cp) * fbcon_font.height * fbcon_font.row_bytes;
	for (u32 y = 0; y < fbcon_font.height; y++)
		for (u32 x = 0; x < fbcon_font.width; x++) {
			bool on = g[y * fbcon_font.row_bytes + x / 8] & (0x80 >> (x % 8));
			if (px(col * 8 + x, row * 16 + y) != (on ? fg : bg))
				return false;
		}
	return true;
}

static bool row_is(u32 row, const char *text, u32 fg)
{
	for (u32 i = 0; i < con.cols; i++) {
		u32 cp = *text ? (u8)*text++ : ' ';
		if (!cell_is(row, i, cp, fg, 0))
			return false;
	}
	return true;
}

static void puts_fb(const char *s)
{
	while (*s)
		fbcon_put(&con, (u8)*s++);
}

static int setup(void **state)
{
	(void)state;
	buf = fb;
	buf_stride = STRIDE;
	memset(fb, 0x55, sizeof(fb));
	assert_int_equal(fbcon_init(&con, fb, W, H, STRIDE, FBCON_BGRX), 0);
	return 0;
}

static void init_clears_and_sizes(void **state)
{
	(void)state;
	assert_int_equal(con.cols, 41);
	assert_int_equal(con.rows, 6);
	for (u32 y = 0; y < H; y++)
		for (u32 x = 0; x < W; x++) {
			u32 want = y < 16 && x < 41 * 8 ? 0x1c3f73 : 0;
			if (px(x, y) != want)
				fail_msg("pixel (%u,%u) %#x, want %#x", x, y, px(x, y), want);
		}
	assert_true(con.stats.cell_tsc > 0);
	assert_int_equal(fbcon_init(&con, fb, 100, H, STRIDE, FBCON_BGRX), -22);
	assert_int_equal(fbcon_init(&con, fb, W, H, STRIDE, 7), -22);
}

static void text_is_drawn_only_by_paint(void **state)
{
	(void)state;
	puts_fb("hello 42\n");
	assert_true(fbcon_busy(&con));
	assert_true(row_is(1, "", 0xc8c8c8)); /* nothing drawn yet */
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	assert_true(row_is(1, "hello 42", 0xc8c8c8));
	assert_false(fbcon_busy(&con));
	/* What is on screen is not drawn again. */
	u64 drawn = con.stats.cells_drawn;
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	assert_int_equal(con.stats.cells_drawn, drawn);
}

static void scrolling_keeps_the_last_lines(void **state)
{
	(void)state;
	char line[32];
	for (int i = 0; i < 12; i++) {
		snprintf(line, sizeof(line), "line %d\n", i);
		puts_fb(line);
	}
	puts_fb("last");
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	/* 5 log rows, a scroll moves 1 (a quarter): lines 8..11 and the
	 * unfinished one. */
	assert_int_equal(con.jump, 1);
	assert_true(row_is(1, "line 8", 0xc8c8c8));
	assert_true(row_is(4, "line 11", 0xc8c8c8));
	assert_true(row_is(5, "last", 0xc8c8c8));
	assert_int_equal(con.stats.scrolls, 12 - 4);
}

static u8 big_fb[(800 * 4) * 160];

static void a_scroll_jumps_a_quarter(void **state)
{
	(void)state;
	char line[32];
	/* 100 x 10 cells: 9 log rows, jumps of 2. */
	assert_int_equal(fbcon_init(&con, big_fb, 800, 160, 800 * 4, FBCON_BGRX), 0);
	assert_int_equal(con.jump, 2);
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "%sline %d", i ? "\n" : "", i);
		for (const char *s = line; *s; s++)
			fbcon_put(&con, (u8)*s);
	}
	/* Lines 0-8 filled the area; line 9 made it jump by 2. */
	assert_int_equal(con.stats.scrolls, 1);
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	buf = big_fb;
	buf_stride = 800 * 4;
	assert_true(row_is(1, "line 2", 0xc8c8c8));
	assert_true(row_is(7, "line 8", 0xc8c8c8));
	assert_true(row_is(8, "line 9", 0xc8c8c8));
	assert_true(row_is(9, "", 0xc8c8c8));
}

static void long_lines_wrap_and_tabs_expand(void **state)
{
	(void)state;
	puts_fb("0123456789012345678901234567890123456789ABCDE\n\tx\n");
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	assert_true(row_is(1, "0123456789012345678901234567890123456789A", 0xc8c8c8));
	assert_true(row_is(2, "BCDE", 0xc8c8c8));
	assert_true(row_is(3, "        x", 0xc8c8c8));
}

static void prefixes_get_their_colours(void **state)
{
	(void)state;
	puts_fb("[hv] up\n[alpha] hi\n[no prefix here\n");
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	for (u32 i = 0; i < 4; i++)
		assert_true(cell_is(1, i, (u8) "[hv]"[i], 0xffd75f, 0));
	assert_true(cell_is(1, 5, 'u', 0xc8c8c8, 0));
	for (u32 i = 0; i < 7; i++)
		assert_true(cell_is(2, i, (u8) "[alpha]"[i], 0x5fd7ff, 0));
	assert_true(cell_is(2, 8, 'h', 0xc8c8c8, 0));
	assert_true(row_is(3, "[no prefix here", 0xc8c8c8));
}

static void utf8_maps_to_the_font(void **state)
{
	(void)state;
	puts_fb("caf\xc3\xa9 \xff!\n");
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	assert_true(cell_is(1, 3, 0xe9, 0xc8c8c8, 0));
	assert_true(cell_is(1, 5, '?', 0xc8c8c8, 0));
	assert_true(cell_is(1, 6, '!', 0xc8c8c8, 0));
}

static void status_row_and_alerts(void **state)
{
	(void)state;
	fbcon_set_status(&con, " P | a !faulted!");
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	assert_true(cell_is(0, 1, 'P', 0xffffff, 0x1c3f73));
	assert_true(cell_is(0, 7, 'f', 0xffffff, 0xaf1f1f));
	assert_true(cell_is(0, 14, ' ', 0xffffff, 0x1c3f73));
}

static void rgbx_swaps_red_and_blue(void **state)
{
	(void)state;
	assert_int_equal(fbcon_init(&con, fb, W, H, STRIDE, FBCON_RGBX), 0);
	assert_int_equal(px(0, 0), 0x733f1c);
	assert_int_equal(px(0, 20), 0);
}

static void paint_stops_at_budget_and_resumes(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++)
		puts_fb("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
	/* Each line that scrolls is credited a screen's worth of cells. */
	assert_int_equal(fbcon_take_credit(&con), 8 * 40 + 4 * 5 * 41);
	u64 before = con.stats.cells_drawn;
	assert_false(fbcon_paint(&con, ~0ULL, 10));
	assert_int_equal(con.stats.cells_drawn - before, 10);
	assert_true(fbcon_busy(&con));
	/* A deadline already passed draws nothing. */
	before = con.stats.cells_drawn;
	assert_false(fbcon_paint(&con, 0, ~0ULL));
	assert_int_equal(con.stats.cells_drawn, before);
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	for (u32 r = 1; r < 5; r++)
		assert_true(row_is(r, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0xc8c8c8));
	assert_true(row_is(5, "", 0xc8c8c8));
	assert_true(con.stats.cut_short >= 2);
}

static void a_stretched_estimate_recovers(void **state)
{
	(void)state;
	puts_fb("abc\n");
	/* One cell seemed to take ages (the host stopped the emulator). */
	con.stats.cell_tsc = 1ULL << 40;
	unsigned refused = 0;
	while (!fbcon_paint(&con, rdtsc() + 2000000, ~0ULL) && refused < 2000)
		refused++;
	assert_true(refused > 0);
	assert_true(refused < 2000);
	assert_true(row_is(1, "abc", 0xc8c8c8));
	assert_true(con.stats.cell_tsc < 2000000);
}

/* Random text and paints cut short at random budgets: once a paint runs to
 * the end, every cell on screen is what the grid says, pixel for pixel. */
static void random_paints_converge(void **state)
{
	(void)state;
	static const char *const words[] = { "[hv] ", "[alpha] ", "x",	"yy ", "zzzz", "0123456789",
					     "\t",    "\n",	  "\n", "[",   "]" };
	unsigned seed = 12345;
	for (int round = 0; round < 300; round++) {
		int n = (int)((seed = seed * 1103515245 + 12345) >> 16) % 12;
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			puts_fb(words[(seed >> 16) % ARRAY_SIZE(words)]);
		}
		seed = seed * 1103515245 + 12345;
		fbcon_paint(&con, ~0ULL, (seed >> 16) % 50);
	}
	assert_true(fbcon_paint(&con, ~0ULL, ~0ULL));
	for (u32 r = 0; r < con.rows; r++)
		for (u32 x = 0; x < con.cols; x++) {
			const u16 *want = r ? con.grid[(con.top + r - 1) % con.lines] : con.status;
			assert_int_equal(con.shown[r][x], want[x]);
			u16 cell = want[x];
			u32 cp = 0;
			for (u32 i = 0; i < fbcon_font.map_count; i++)
				if (fbcon_font.map[i][1] == (cell & 0xfff)) {
					cp = fbcon_font.map[i][0];
					break;
				}
			u32 fg = con.pixel[cell >> 12][0], bg = con.pixel[cell >> 12][1];
			if (!cell_is(r, x, cp, fg, bg))
				fail_msg("cell (%u,%u) does not show glyph %u", r, x, cell & 0xfff);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(init_clears_and_sizes, setup),
		cmocka_unit_test_setup(text_is_drawn_only_by_paint, setup),
		cmocka_unit_test_setup(scrolling_keeps_the_last_lines, setup),
		cmocka_unit_test_setup(a_scroll_jumps_a_quarter, setup),
		cmocka_unit_test_setup(long_lines_wrap_and_tabs_expand, setup),
		cmocka_unit_test_setup(prefixes_get_their_colours, setup),
		cmocka_unit_test_setup(utf8_maps_to_the_font, setup),
		cmocka_unit_test_setup(status_row_and_alerts, setup),
		cmocka_unit_test_setup(rgbx_swaps_red_and_blue, setup),
		cmocka_unit_test_setup(paint_stops_at_budget_and_resumes, setup),
		cmocka_unit_test_setup(a_stretched_estimate_recovers, setup),
		cmocka_unit_test_setup(random_paints_converge, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A text console on a linear framebuffer (the UEFI GOP's, boot_info.fb):
 * a bitmap font, a status row at the top, a log area below it that scrolls,
 * and drawing that is cheap to ask for and bounded when it is done.
 *
 * Two steps, so that the caller decides when time is spent:
 *   - fbcon_put() takes bytes of text (UTF-8, '\n' ends a line) into a grid
 *     of cells in memory.  It never touches the framebuffer; a new line that
 *     scrolls the log area moves the grid (a ring of rows), which costs the
 *     clearing of one row of cells.
 *   - fbcon_paint() brings the framebuffer up to date with the grid: it
 *     redraws only the cells that differ from what is on screen, row by
 *     row, and stops before a row it could not finish by the deadline or
 *     when the caller's budget of cells is spent.  What is left is done by
 *     the next call; the screen always converges to the latest grid (lines
 *     that came and scrolled away in between are never drawn).
 * The cost of a scroll is a redraw of the cells that changed, which on a
 * full screen is most of them; jumping a quarter of the screen at a time
 * makes that once every lines/4 lines rather than at every line.  The cost
 * of a cell is measured (fbcon_stats), so a caller can bound it.
 *
 * A line that starts with "[name]" gets its prefix in a colour of its own
 * ("[hv]" another).  Lines longer than the screen wrap.
 *
 * Not thread-safe: the caller serialises calls (kernel/screen.c holds the
 * console's lock).  No allocation: the grid is in the struct.
 */
#ifndef PARTITA_DRIVERS_FBCON_H
#define PARTITA_DRIVERS_FBCON_H

#include "kernel/lib/types.h"

#define FBCON_MAX_COLS 480 /* 3840 pixels of an 8-pixel font */
#define FBCON_MAX_ROWS 136 /* 2176 pixels of a 16-pixel font */
#define FBCON_STATUS_MAX FBCON_MAX_COLS

/** A bitmap font, generated at build time (drivers/fbfont.py) from a PSF. */
struct fbcon_font {
	const char *name;
	u32 width, height; /* pixels; width at most 16 */
	u32 row_bytes;	   /* bytes a glyph row, most significant bit leftmost */
	u32 glyph_count;
	const u8 *glyphs; /* glyph_count * height * row_bytes */
	u32 map_count;
	const u16 (*map)[2]; /* sorted (code point, glyph) pairs */
};

extern const struct fbcon_font fbcon_font;

/** Colours of the cells (palette indices; fbcon.c has the RGB values). */
enum fbcon_colour {
	FBCON_TEXT,   /* log text */
	FBCON_HV,     /* the "[hv]" prefix */
	FBCON_NAME,   /* a partition's "[name]" prefix */
	FBCON_STATUS, /* the status row */
	FBCON_ALERT,  /* a word of the status row that needs attention */
	FBCON_COLOURS
};

/** Pixel layouts (as enum boot_fb_format). */
enum fbcon_format {
	FBCON_RGBX = 1, /* red at the lowest address */
	FBCON_BGRX = 2, /* blue at the lowest address */
};

struct fbcon_stats {
	u64 cells_drawn;   /* glyphs written to the framebuffer */
	u64 paints;	   /* fbcon_paint calls that drew something */
	u64 cut_short;	   /* calls that left work for the next (deadline, budget) */
	u64 cell_tsc;	   /* what drawing one cell costs, TSC cycles (average) */
	u64 max_paint_tsc; /* the longest fbcon_paint call */
	u64 scrolls;
};

struct fbcon {
	u8 *fb;			     /* the framebuffer, mapped */
	u32 width, height;	     /* pixels */
	u32 stride;		     /* bytes a scan line */
	u32 cols, rows;		     /* cells; row 0 is the status row */
	u32 pixel[FBCON_COLOURS][2]; /* (foreground, background) in fb format */
	const struct fbcon_font *font;
	u16 ascii[128]; /* glyph of each ASCII code point */
	u16 fallback;	/* glyph of '?' */

	/* The log area: rows 1..rows-1 of the screen show ring lines
	 * top, top+1, ... (mod lines). */
	u32 lines; /* rows - 1 */
	u32 jump;  /* lines a scroll moves: a quarter of them */
	u32 top;
	u32 filled;  /* ring lines in use, up to lines */
	u32 col;     /* cursor column in the last line */
	bool prefix; /* inside a "[name]" at the start of a line */
	u16 prefix_colour;
	u32 utf8_cp, utf8_need;
	/* Cells: glyph index | colour << 12.  grid: what should be shown
	 * (status row, then the ring of log lines); shown: what is. */
	u16 status[FBCON_MAX_COLS];
	u16 grid[FBCON_MAX_ROWS][FBCON_MAX_COLS];
	u16 shown[FBCON_MAX_ROWS][FBCON_MAX_COLS];
	u8 dirty[FBCON_MAX_ROWS]; /* screen rows that may differ */
	u32 dirty_count;
	u64 credit; /* cells of drawing the text put since the last paint caused */
	struct fbcon_stats stats;
};

/**
 * Sets up c on a framebuffer of width x height pixels at fb (mapped), stride
 * bytes a line, in format, with the built-in font, and clears it.  Returns
 * 0, or -E_INVAL if the format is unknown or the screen holds fewer than
 * 20 x 4 cells.  A screen larger than FBCON_MAX_COLS x FBCON_MAX_ROWS cells
 * is used from its top left corner.
 */
int fbcon_init(struct fbcon *c, void *fb, u32 width, u32 height, u32 stride, u32 format);

/** Takes one byte of text (UTF-8; '\r' ignored; '\t' to the next multiple
 *  of 8 columns) into the grid.  Never draws. */
void fbcon_put(struct fbcon *c, u8 byte);

/** Sets the status row's text (ASCII; cut at the screen's width).  Words
 *  between '!' marks are shown in FBCON_ALERT (the marks are not shown). */
void fbcon_set_status(struct fbcon *c, const char *text);

/**
 * Draws what differs between the grid and the screen, row by row, until
 * nothing does, the TSC reaches deadline_tsc (a row is started only if the
 * average cost says it ends before), or max_cells cells were drawn.  Returns
 * true if the screen shows the grid afterwards.
 */
bool fbcon_paint(struct fbcon *c, u64 deadline_tsc, u64 max_cells);

/** Takes the credit: cells of drawing caused by the text put since the
 *  last call (a line that scrolls causes a screen's worth). */
u64 fbcon_take_credit(struct fbcon *c);

/** True if the screen does not show the grid yet. */
bool fbcon_busy(const struct fbcon *c);

#endif

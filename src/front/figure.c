/* Figures with cairo (figure.h). Everything is drawn once onto a recording
 * surface, whose ink extents then size the real SVG, PDF or PNG surface, so
 * the layout code never has to predict its own height; the file is written
 * atomically (lmscope/atomic.h). Units are points
 * (1/72 in); PNGs are rendered at 2x for screens and slides. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>

#include "lmscope/atomic.h"
#include "front/figure.h"
#include "front/palette.h"

#define WIDTH 560.0 /* content width */
#define MARGIN 18.0
#define FONT "DejaVu Sans"
#define PNG_SCALE 2.0

/* Shown form of a token: control characters escaped, blanks made visible. */
static void visible(char *out, size_t size, const char *tok)
{
	size_t o = 0;
	int only_space = 1;
	for (const char *p = tok; *p; p++)
		only_space &= *p == ' ';
	if (!*tok || only_space) {
		snprintf(out, size, "%s",
		         *tok ? "\xe2\x90\xa3" : "\xe2\x88\x85"); /* open box / empty set */
		return;
	}
	for (const unsigned char *p = (const unsigned char *)tok; *p && o + 4 < size; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			out[o++] = '\\';
			out[o++] = *p == '\n' ? 'n' : (*p == '\t' ? 't' : 'r');
		} else if (*p < 0x20) {
			out[o++] = '?';
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = 0;
}

static void font(cairo_t *cr, double size, int bold)
{
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
	                       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *s)
{
	cairo_text_extents_t te;
	cairo_text_extents(cr, s, &te);
	return te.x_advance;
}

static void text_at(cairo_t *cr, double x, double y, const char *s)
{
	cairo_move_to(cr, x, y);
	cairo_show_text(cr, s);
}

/* A score's colour from the palette the screen uses too: red (lowers),
 * white, green (raises); one-sided scores white to green. */
static void score_rgb(double v, int is_signed, double *r, double *g, double *b)
{
	struct front_rgb c = front_score_rgb(v, is_signed);
	*r = c.r;
	*g = c.g;
	*b = c.b;
}

/* Sequential ramp for [0, 1]: white to deep blue. */
static void sequential(double v, double *r, double *g, double *b)
{
	v = v < 0 ? 0 : (v > 1 ? 1 : v);
	*r = 1.0 - 0.92 * v;
	*g = 1.0 - 0.75 * v;
	*b = 1.0 - 0.45 * v;
}

static double draw_title(cairo_t *cr, const struct figure_spec *f, double y)
{
	if (!f->title)
		return y;
	font(cr, 13, 1);
	cairo_set_source_rgb(cr, 0, 0, 0);
	text_at(cr, 0, y + 13, f->title);
	return y + 26;
}

static double section(cairo_t *cr, const char *label, double y)
{
	font(cr, 10, 1);
	cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
	text_at(cr, 0, y + 10, label);
	return y + 18;
}

/* Tokens as shaded boxes flowing like text, each score printed beneath. */
static double draw_tokens(cairo_t *cr, const struct figure_spec *f, double y)
{
	char head[160], buf[256];
	snprintf(head, sizeof head, "Attribution%s%s", f->method ? ": " : "",
	         f->method ? f->method : "");
	y = section(cr, head, y);
	double amax = 0.0;
	for (int j = 0; f->scores && j < f->n; j++)
		amax = fmax(amax, fabs(f->scores[j]));
	double x = 0.0, box_h = 18, row_h = 36, pad = 4;
	for (int j = 0; j < f->n; j++) {
		visible(buf, sizeof buf, f->tokens[j]);
		font(cr, 11, 0);
		double w = fmax(text_width(cr, buf) + 2 * pad, 26);
		if (x > 0 && x + w > WIDTH) {
			x = 0;
			y += row_h;
		}
		double r = 1, g = 1, b = 1;
		if (f->scores && amax > 0)
			score_rgb(f->scores[j] / amax, !f->one_sided, &r, &g, &b);
		cairo_set_source_rgb(cr, r, g, b);
		cairo_rectangle(cr, x, y, w, box_h);
		cairo_fill_preserve(cr);
		cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
		cairo_set_line_width(cr, 0.5);
		cairo_stroke(cr);
		cairo_set_source_rgb(cr, 0, 0, 0);
		text_at(cr, x + pad, y + 13, buf);
		if (f->scores) {
			char num[32];
			snprintf(num, sizeof num, "%.3g", f->scores[j]);
			font(cr, 7, 0);
			cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
			text_at(cr, x + (w - text_width(cr, num)) / 2, y + box_h + 9, num);
		}
		x += w + 3;
	}
	y += row_h + 4;
	if (f->scores && amax > 0) {
		/* the colour scale, -max .. +max, or 0 .. max for one-sided scores */
		double bw = 160, bh = 8, lo = f->one_sided ? 0.0 : -1.0;
		for (int i = 0; i < 80; i++) {
			double r, g, b;
			score_rgb(lo + (1.0 - lo) * i / 79.0, !f->one_sided, &r, &g, &b);
			cairo_set_source_rgb(cr, r, g, b);
			cairo_rectangle(cr, i * bw / 80, y, bw / 80 + 0.3, bh);
			cairo_fill(cr);
		}
		font(cr, 7, 0);
		cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
		snprintf(buf, sizeof buf, "%.3g", f->one_sided ? 0.0 : -amax);
		text_at(cr, 0, y + bh + 9, buf);
		snprintf(buf, sizeof buf, "%.3g", amax);
		text_at(cr, bw - text_width(cr, buf), y + bh + 9, buf);
		text_at(cr, bw + 8, y + 7,
		        f->one_sided ? "score: how much the prediction depends on the token"
		                     : "lowers  \xe2\x86\x90  score  \xe2\x86\x92  raises the prediction");
		y += bh + 16;
	}
	if (f->note) {
		font(cr, 8, 0);
		cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
		text_at(cr, 0, y + 8, f->note);
		y += 14;
	}
	return y + 8;
}

/* The deletion curve: p(target) against the share of positions hidden. */
static double draw_curve(cairo_t *cr, const struct figure_spec *f, double y)
{
	char buf[96];
	snprintf(buf, sizeof buf, "Deletion curve (area %.3f; lower: the scores found what matters)",
	         f->area);
	y = section(cr, buf, y);
	double x0 = 36, w = 220, h = 80, pmax = 0;
	for (int k = 0; k <= f->n; k++)
		pmax = fmax(pmax, f->curve[k]);
	pmax = pmax > 0 ? pmax : 1;
	cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
	cairo_set_line_width(cr, 0.5);
	cairo_rectangle(cr, x0, y, w, h);
	cairo_stroke(cr);
	/* the area, then the line over it */
	cairo_move_to(cr, x0, y + h);
	for (int k = 0; k <= f->n; k++)
		cairo_line_to(cr, x0 + w * k / f->n, y + h - h * f->curve[k] / pmax);
	cairo_line_to(cr, x0 + w, y + h);
	cairo_close_path(cr);
	cairo_set_source_rgba(cr, 0.80, 0.25, 0.20, 0.15);
	cairo_fill(cr);
	for (int k = 0; k <= f->n; k++)
		cairo_line_to(cr, x0 + w * k / f->n, y + h - h * f->curve[k] / pmax);
	cairo_set_source_rgb(cr, 0.80, 0.25, 0.20);
	cairo_set_line_width(cr, 1.2);
	cairo_stroke(cr);
	font(cr, 7, 0);
	cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
	snprintf(buf, sizeof buf, "%.3g", pmax);
	text_at(cr, x0 - 4 - text_width(cr, buf), y + 6, buf);
	text_at(cr, x0 - 8, y + h, "0");
	text_at(cr, x0, y + h + 9, "0");
	snprintf(buf, sizeof buf, "all %d hidden", f->n);
	text_at(cr, x0 + w - text_width(cr, buf), y + h + 9, buf);
	text_at(cr, x0 + w / 2 - 30, y + h + 9, "positions hidden");
	cairo_save(cr);
	cairo_move_to(cr, x0 - 22, y + h / 2 + 20);
	cairo_rotate(cr, -M_PI / 2);
	cairo_show_text(cr, "p(target)");
	cairo_restore(cr);
	return y + h + 22;
}

/* Next-token probabilities as horizontal bars, the explained token marked. */
static double draw_bars(cairo_t *cr, const struct figure_spec *f, double y)
{
	y = section(cr, "Next token", y);
	char buf[256];
	double label_w = 0;
	font(cr, 10, 0);
	for (int i = 0; i < f->k; i++) {
		visible(buf, sizeof buf, f->top_tokens[i]);
		label_w = fmax(label_w, text_width(cr, buf));
	}
	label_w = fmin(label_w + 8, 180);
	double bar_max = WIDTH - label_w - 60, h = 12;
	for (int i = 0; i < f->k; i++) {
		visible(buf, sizeof buf, f->top_tokens[i]);
		font(cr, 10, i == f->highlight || i == f->contrast);
		cairo_set_source_rgb(cr, 0, 0, 0);
		text_at(cr, label_w - 6 - text_width(cr, buf), y + 10, buf);
		double w = fmax(bar_max * f->top_probs[i], 0.5);
		if (i == f->highlight)
			cairo_set_source_rgb(cr, 0.80, 0.25, 0.20);
		else if (i == f->contrast)
			cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
		else
			cairo_set_source_rgb(cr, 0.35, 0.50, 0.72);
		cairo_rectangle(cr, label_w, y + 1, w, h - 2);
		cairo_fill(cr);
		font(cr, 8, 0);
		cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
		snprintf(buf, sizeof buf, "%.1f%%", 100.0 * f->top_probs[i]);
		text_at(cr, label_w + w + 4, y + 9.5, buf);
		y += h + 3;
	}
	return y + 10;
}

/* One head's attention: query rows, key columns, labels on both axes. */
static double draw_heatmap(cairo_t *cr, const struct figure_spec *f, double y)
{
	char buf[256];
	snprintf(buf, sizeof buf, "Attention, layer %d head %d (row: query, column: key)", f->layer,
	         f->head);
	y = section(cr, buf, y);
	int n = f->n;
	double label_w = 0;
	font(cr, 8, 0);
	for (int j = 0; j < n; j++) {
		visible(buf, sizeof buf, f->tokens[j]);
		label_w = fmin(fmax(label_w, text_width(cr, buf)), 90);
	}
	label_w += 6;
	double cell = fmin(16.0, (WIDTH - label_w - 60) / n);
	double x0 = label_w, y0 = y;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			double r, g, b;
			sequential(f->attention[(size_t)i * f->att_stride + j], &r, &g, &b);
			cairo_set_source_rgb(cr, r, g, b);
			cairo_rectangle(cr, x0 + j * cell, y0 + i * cell, cell + 0.2, cell + 0.2);
			cairo_fill(cr);
		}
	cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
	cairo_set_line_width(cr, 0.5);
	cairo_rectangle(cr, x0, y0, n * cell, n * cell);
	cairo_stroke(cr);
	font(cr, fmin(8, cell * 0.8), 0);
	cairo_set_source_rgb(cr, 0, 0, 0);
	for (int j = 0; j < n; j++) {
		visible(buf, sizeof buf, f->tokens[j]);
		/* row label, right-aligned */
		text_at(cr, x0 - 4 - text_width(cr, buf), y0 + j * cell + cell * 0.75, buf);
		/* column label, rotated down the page */
		cairo_save(cr);
		cairo_move_to(cr, x0 + j * cell + cell * 0.3, y0 + n * cell + 4);
		cairo_rotate(cr, M_PI / 2);
		cairo_show_text(cr, buf);
		cairo_restore(cr);
	}
	/* colour scale 0..1 on the right */
	double sx = x0 + n * cell + 14, sh = fmax(n * cell, 60);
	for (int i = 0; i < 50; i++) {
		double r, g, b;
		sequential(1.0 - i / 49.0, &r, &g, &b);
		cairo_set_source_rgb(cr, r, g, b);
		cairo_rectangle(cr, sx, y0 + i * sh / 50, 8, sh / 50 + 0.3);
		cairo_fill(cr);
	}
	font(cr, 7, 0);
	cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
	text_at(cr, sx + 11, y0 + 6, "1");
	text_at(cr, sx + 11, y0 + sh, "0");
	return y0 + n * cell + 4 + label_w + 6;
}

/* Embedding gradient: one row per token, one column per dimension. */
static double draw_embgrad(cairo_t *cr, const struct figure_spec *f, double y)
{
	y = section(cr, "Embedding gradient: d loss / d (embedding row), tokens \xc3\x97 dimensions",
	            y);
	char buf[256];
	double label_w = 0, amax = 0;
	font(cr, 8, 0);
	for (int i = 0; i < f->ek; i++) {
		visible(buf, sizeof buf, f->etokens[i]);
		label_w = fmin(fmax(label_w, text_width(cr, buf)), 90);
	}
	for (size_t q = 0; q < (size_t)f->ek * f->C; q++)
		amax = fmax(amax, fabs(f->egrad[q]));
	label_w += 6;
	double cw = fmin(8.0, (WIDTH - label_w) / f->C), ch = 10;
	for (int i = 0; i < f->ek; i++) {
		for (int q = 0; q < f->C; q++) {
			double r, g, b;
			score_rgb(amax > 0 ? f->egrad[(size_t)i * f->C + q] / amax : 0, 1, &r, &g, &b);
			cairo_set_source_rgb(cr, r, g, b);
			cairo_rectangle(cr, label_w + q * cw, y + i * ch, cw + 0.2, ch + 0.2);
			cairo_fill(cr);
		}
		visible(buf, sizeof buf, f->etokens[i]);
		cairo_set_source_rgb(cr, 0, 0, 0);
		text_at(cr, label_w - 4 - text_width(cr, buf), y + i * ch + 8, buf);
	}
	cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
	cairo_set_line_width(cr, 0.5);
	cairo_rectangle(cr, label_w, y, f->C * cw, f->ek * ch);
	cairo_stroke(cr);
	font(cr, 7, 0);
	cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
	snprintf(buf, sizeof buf, "dimension 0 .. %d; colour scale \xc2\xb1%.3g", f->C - 1, amax);
	text_at(cr, label_w, y + f->ek * ch + 9, buf);
	return y + f->ek * ch + 20;
}

/* The logit lens: a row per layer, the target's rank and probability, then
 * the layer's top tokens (LENS_SHOWN at most), each over a bar of its
 * probability. */
#define LENS_SHOWN 5
static double draw_lens(cairo_t *cr, const struct figure_spec *f, double y)
{
	char buf[300], tok[256];
	visible(tok, sizeof tok, f->lens_target ? f->lens_target : "");
	snprintf(buf, sizeof buf,
	         "Logit lens at position %d: each layer read through the unembedding "
	         "(target %.60s: rank, p)",
	         f->lens_pos, tok);
	y = section(cr, buf, y);
	int shown = f->lens_k < LENS_SHOWN ? f->lens_k : LENS_SHOWN;
	double x0 = 96, cw = (WIDTH - x0) / (shown > 0 ? shown : 1), h = 14;
	for (int l = 0; l < f->lens_L; l++, y += h + 2) {
		font(cr, 9, 0);
		cairo_set_source_rgb(cr, 0, 0, 0);
		snprintf(buf, sizeof buf, "layer %d", l);
		text_at(cr, 0, y + 10, buf);
		if (!f->lens_rank[l])
			continue;
		font(cr, 9, f->lens_rank[l] == 1);
		snprintf(buf, sizeof buf, "#%d  %.1f%%", f->lens_rank[l], 100.0 * f->lens_tp[l]);
		text_at(cr, 40, y + 10, buf);
		for (int i = 0; i < shown; i++) {
			const char *t = f->lens_tokens[(size_t)l * f->lens_k + i];
			double p = f->lens_probs[(size_t)l * f->lens_k + i], x = x0 + i * cw;
			if (!t)
				break;
			cairo_set_source_rgb(cr, 0.78, 0.85, 0.94);
			cairo_rectangle(cr, x, y + 1, fmax((cw - 4) * p, 0.5), h - 2);
			cairo_fill(cr);
			visible(tok, sizeof tok, t);
			snprintf(buf, sizeof buf, "%.40s %.1f%%", tok, 100.0 * p);
			font(cr, 8, f->lens_target && !strcmp(t, f->lens_target));
			cairo_set_source_rgb(cr, 0, 0, 0);
			text_at(cr, x + 2, y + 10, buf);
		}
	}
	return y + 10;
}

static void draw(cairo_t *cr, const struct figure_spec *f)
{
	unsigned parts = f->parts ? f->parts : ~0u;
	double y = draw_title(cr, f, 0);
	if (parts & FIGURE_SCORES)
		y = draw_tokens(cr, f, y);
	if ((parts & FIGURE_CURVE) && f->curve && f->n > 0)
		y = draw_curve(cr, f, y);
	if ((parts & FIGURE_BARS) && f->k > 0)
		y = draw_bars(cr, f, y);
	if ((parts & FIGURE_EMBGRAD) && f->ek > 0 && f->egrad)
		y = draw_embgrad(cr, f, y);
	if ((parts & FIGURE_LENS) && f->lens_L > 0)
		y = draw_lens(cr, f, y);
	if ((parts & FIGURE_ATTENTION) && f->attention && f->n > 0)
		draw_heatmap(cr, f, y);
}

static const char *extension(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot && !strchr(dot, '/') ? dot + 1 : "";
}

/* cairo's write callback: into the atomic file being written. */
static cairo_status_t put(void *closure, const unsigned char *data, unsigned int len)
{
	return lms_atomic_put(closure, data, len) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* The recording rec, whose ink is at (x0, y0), painted on a white page of
 * W x H points into the open atomic file a. */
static cairo_status_t render(cairo_surface_t *rec, double x0, double y0, double W, double H,
                             int kind, struct lms_atomic *a)
{
	double scale = kind == 'p' ? PNG_SCALE : 1.0;
	cairo_surface_t *out;
	if (kind == 's')
		out = cairo_svg_surface_create_for_stream(put, a, W, H);
	else if (kind == 'd')
		out = cairo_pdf_surface_create_for_stream(put, a, W, H);
	else
		out = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(W * scale), (int)(H * scale));
	cairo_t *cr = cairo_create(out);
	cairo_scale(cr, scale, scale);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_surface(cr, rec, MARGIN - x0, MARGIN - y0);
	cairo_paint(cr);
	cairo_show_page(cr);
	cairo_status_t cs = cairo_status(cr);
	cairo_destroy(cr);
	if (kind == 'p' && cs == CAIRO_STATUS_SUCCESS)
		cs = cairo_surface_write_to_png_stream(out, put, a);
	cairo_surface_finish(out);
	if (cs == CAIRO_STATUS_SUCCESS)
		cs = cairo_surface_status(out);
	cairo_surface_destroy(out);
	return cs;
}

enum lms_status figure_write(const char *path, const struct figure_spec *f)
{
	const char *ext = extension(path);
	int kind = !strcasecmp(ext, "svg")   ? 's'
	           : !strcasecmp(ext, "pdf") ? 'd'
	           : !strcasecmp(ext, "png") ? 'p'
	                                     : 0;
	if (!kind)
		return lms_fail(LMS_EARG, "%s: a figure is .svg, .png or .pdf", path);
	cairo_surface_t *rec = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, NULL);
	cairo_t *cr = cairo_create(rec);
	draw(cr, f);
	cairo_destroy(cr);
	double x0, y0, w, h;
	cairo_recording_surface_ink_extents(rec, &x0, &y0, &w, &h);
	double W = ceil(fmax(w, 10) + 2 * MARGIN), H = ceil(fmax(h, 10) + 2 * MARGIN);
	/* written under a temporary name and renamed: never half a figure */
	struct lms_atomic a;
	enum lms_status st = lms_atomic_open(&a, path);
	if (st) {
		cairo_surface_destroy(rec);
		return st;
	}
	cairo_status_t cs = render(rec, x0, y0, W, H, kind, &a);
	cairo_surface_destroy(rec);
	if (cs != CAIRO_STATUS_SUCCESS) {
		lms_atomic_abort(&a);
		return lms_fail(LMS_EIO, "%s: cannot write the figure (%s)", path,
		                cairo_status_to_string(cs));
	}
	st = lms_atomic_commit(&a);
	if (st)
		lms_atomic_abort(&a);
	return st;
}

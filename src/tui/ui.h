/* The explorer's screen side: the input-thread state, the layout, semantic
 * colors, drawing helpers, the key table and the panes.
 *
 * Panes read the newest view (session.h) and the state's selections and
 * draw; key handlers change selections only and return reaction flags that
 * the one main loop (explorer.c) acts on. */
#ifndef LMS_TUI_UI_H
#define LMS_TUI_UI_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <ncurses.h>
#include <wchar.h>

#include "lmscope/rng.h"
#include "session.h"
#include "worker.h"

/* ---- reactions of key and mouse handlers ------------------------------------ */
enum {
	TUI_NONE = 0,
	TUI_REDRAW = 1,    /* selection changed: redraw the panes */
	TUI_RECOMPUTE = 2, /* the request changed: post it to the engine */
	TUI_RELAYOUT = 4,  /* the layout changed */
	TUI_QUIT = 8,
	TUI_EDIT = 16,      /* the context text changed */
	TUI_UNHANDLED = 32, /* not this handler's key */
};

/* ---- panes and layout ---------------------------------------------------- */
enum tui_pane { P_CONTEXT, P_CANDIDATES, P_SALIENCY, P_ATTENTION, P_LENS, P_N };
enum tui_win { W_INPUT, W_TOKENS, W_CAND, W_SAL, W_ATT, W_LENS, W_STATUS, W_N };

#define TUI_MIN_COLS 60
#define TUI_MIN_LINES 16

struct tui_rect {
	int y, x, h, w;
};

struct tui_layout {
	int lines, cols;
	int y0, x0;  /* the area's origin on the screen */
	int present; /* window enlarged to the whole pane area, or -1 */
	int too_small;
	struct tui_rect r[W_N];
	WINDOW *win[W_N];
};

/* Recomputes every window from the terminal size (the one place KEY_RESIZE
 * leads to). */
void tui_layout_compute(struct tui_layout *lay, int lines, int cols);
/* The same for an area of lines x cols at (y0, x0); present is the pane
 * window given the whole pane area (presenter mode), or -1. */
void tui_layout_compute_at(struct tui_layout *lay, int y0, int x0, int lines, int cols,
                           int present);
void tui_layout_free(struct tui_layout *lay);
/* The window under a screen position, or -1. */
int tui_layout_hit(const struct tui_layout *lay, int y, int x);

/* ---- the input line ------------------------------------------------------ */
#define TUI_HISTORY 64
struct tui_line {
	wchar_t *buf;      /* len wide characters, not terminated */
	int len, cap, cur; /* cursor index in [0, len] */
	int scroll;        /* first visible character */
	wchar_t *hist[TUI_HISTORY];
	int n_hist, hist_pos;
};
int tui_line_init(struct tui_line *l);
void tui_line_free(struct tui_line *l);
int tui_line_insert(struct tui_line *l, const wchar_t *s, int n);
int tui_line_set_utf8(struct tui_line *l, const char *s, size_t len);
/* The text as UTF-8 into the request (grows its buffer rarely). */
int tui_line_to_request(const struct tui_line *l, struct tui_request *rq);
/* Byte offset in the UTF-8 text of character index i. */
size_t tui_line_byte_of(const struct tui_line *l, int i);
int tui_line_char_of_byte(const struct tui_line *l, size_t byte);
void tui_line_commit(struct tui_line *l); /* into history */
void tui_line_history(struct tui_line *l, int dir);

/* ---- state of the input thread --------------------------------------------- */
#define TUI_TOKEN_HITS 512
struct tui_state {
	const struct tui_model *tm;
	struct tui_worker *w;
	const struct tui_view *v; /* newest view (the worker's front buffer) */
	struct tui_request rq;    /* what the engine is asked for */
	struct tui_line line;
	enum tui_pane focus;
	const struct tui_pane_ops *pane[P_N]; /* the pane in each focus position */
	int recurrent;
	struct tui_layout lay;
	/* candidates */
	int cand_sel, cand_top;
	float temperature; /* the shown distribution's and sampling's */
	int bars_relative; /* bars scaled to the top candidate, not 0-100% */
	/* log-normaliser of logprob / temperature over the vocabulary, for
	 * the view and temperature it was computed for */
	double temp_lse, temp_T;
	const struct tui_view *temp_v;
	uint64_t temp_seq;
	struct lms_rng rng;
	/* saliency */
	int sal_top;
	/* attention / hidden */
	int att_mode;   /* enum tui_att_mode */
	int over_score; /* overview labels: 0 entropy, 1 + the detector (pane_attention.c) */
	int att_row0, att_col0, att_follow;
	int query; /* selected token (view index), -1 = last */
	/* lens, and the divergence pane in its place: first rows */
	int lens_top, div_top;
	/* direct logit attribution: selected and first rows, layer opened + 1 */
	int dla_sel, dla_top, dla_open;
	int neuron_sel; /* MLP neurons: the selected row */
	int change_top; /* change strip's first row, -1: follow the end */
	/* patching: the site shown, the heatmap's first row and column, and
	 * whether keys go to the corrupted context (pane_patch.c) */
	int patch_site, patch_row0, patch_col0, patch_edit;
	/* where the context's tokens were last drawn, for mouse clicks */
	struct {
		int y, x0, x1, j;
	} tok_hit[TUI_TOKEN_HITS];
	int n_tok_hits;
	int help;        /* help overlay open */
	int help_top;    /* first row shown; -1: the focused pane's section */
	int help_max;    /* the last help_top that still fills the window */
	char msg[256];   /* one-off message for the status line */
	double post_ms;  /* when the newest request was posted */
	double shown_ms; /* keystroke-to-screen time of the newest view */
	uint64_t shown_seq;
	int export_n;
	/* teaching (teach.h): the app both sides belong to, pinned results */
	struct tui_app *app;
	struct tui_view pin;
	int pinned;
};

/* ---- key table ------------------------------------------------------------- */
enum tui_scope {
	SCOPE_GLOBAL,  /* in every pane, even while typing */
	SCOPE_COMMAND, /* in every pane but the context (letters are typed there) */
	SCOPE_PANE,    /* in one pane */
};
typedef int (*tui_key_fn)(struct tui_state *s, int key);
struct tui_key {
	int key;           /* ncurses code or character; 0 ends a table */
	const char *label; /* as shown in the help */
	const char *help;
	tui_key_fn fn;
};
#define TUI_CTRL(c) ((c)&0x1f)
#define TUI_KEY_ESC 27

/* Dispatches a key through the focused pane's table, the command table and
 * the global table; returns reaction flags (TUI_UNHANDLED if none). */
int tui_keys_dispatch(struct tui_state *s, int key, int is_func);
void tui_help_draw(struct tui_state *s);
int tui_help_key(struct tui_state *s, int key);

/* ---- colors ---------------------------------------------------------------- */
enum ui_role {
	UI_NORMAL,
	UI_STATUS,
	UI_STATUS_BUSY,
	UI_TITLE,
	UI_TITLE_FOCUS,
	UI_DIM,
	UI_SELECT,
	UI_MARKER,
	UI_ERROR,
	UI_PROB_BAR,
	UI_TARGET,
	UI_CONTRAST,
	UI_SAL_POS,
	UI_SAL_NEG,
	UI_HELP,
	UI_HELP_KEY,
	UI_HEAT_0,
	UI_HEAT_1,
	UI_HEAT_2,
	UI_HEAT_3,
	UI_HEAT_4,
	UI_HEAT_5,
	UI_HEAT_6,
	UI_HEAT_7,
	UI_DIV_0,
	UI_DIV_1,
	UI_DIV_2,
	UI_DIV_3,
	UI_DIV_4,
	UI_DIV_5,
	UI_DIV_6,
	UI_N_ROLES
};
#define UI_HEAT_LEVELS 8
#define UI_DIV_LEVELS 7

void ui_colors_init(void);
/* The light theme (on) or the dark one; re-initializes the colors. */
void ui_colors_light(int on);
int ui_color_mode(void); /* 256, 8 or 0 (monochrome) */
attr_t ui_attr(enum ui_role r);
void ui_set(WINDOW *w, enum ui_role r);
/* v in [0, 1] -> a sequential heat role; v in [-1, 1] -> a diverging role. */
enum ui_role ui_heat(double v);
enum ui_role ui_div(double v);
/* Monochrome shade glyph for v in [0, 1] (UTF-8 blocks or ASCII). */
const char *ui_shade(double v);

/* ---- drawing helpers ----------------------------------------------------- */
extern int ui_utf8; /* the terminal takes UTF-8 */
/* Draws UTF-8 text clipped to maxw columns; control characters become
 * visible glyphs; with token != 0 spaces are shown as a middle dot. Returns
 * the columns used. */
int ui_text(WINDOW *w, int y, int x, const char *s, size_t len, int maxw, int token);
int ui_text_width(const char *s, size_t len, int token);
/* Bytes of s (len) that fit a line of maxw columns: broken after the last
 * space, or before the last wide (CJK) character that may start a line
 * (not closing punctuation), when there is one; at least one character. */
size_t ui_wrap_at(const char *s, size_t len, int maxw);
/* A horizontal bar of frac * width columns with eighth-block resolution. */
void ui_bar(WINDOW *w, int y, int x, double frac, int width, enum ui_role role);
/* The pane's title row (highlighted when focused). */
void ui_title(WINDOW *w, const char *title, int focused);
void ui_printf(WINDOW *w, int y, int x, int maxw, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* ---- panes ------------------------------------------------------------------
 * A pane is one area of the screen with its own drawing, keys, mouse and
 * help (as htop's Panel). The explorer knows panes only through this
 * interface: the main loop draws every pane of the layout, sends keys to
 * the focused pane's table (then the command and global tables), sends a
 * click or the wheel to the pane under the pointer, and the help overlay
 * lists each pane's keys under its name, after its `about` text.
 *
 * Adding a pane: write pane_NAME.c with a `const struct tui_pane_ops pane_NAME`
 * (static draw and click functions, a key table ending in {0}), declare it
 * below, and give it a slot in tui_panes_init (panes.c): a slot is a focus
 * position (enum tui_pane) and the layout window it draws in (enum
 * tui_win, layout.c). A pane that replaces another for some models (the
 * recurrent activations take the attention pane's slot) is chosen there. */
struct tui_pane_ops {
	const char *name;  /* help section title */
	const char *about; /* what the pane shows, for the help; NULL: nothing */
	enum tui_win win;  /* the layout window it draws in */
	/* draws into w (the window of `win`), reading s->v and the selections */
	void (*draw)(struct tui_state *s, WINDOW *w);
	/* a click at (y, x) inside layout window win; returns reaction flags
	 * (NULL: a click only focuses the pane) */
	int (*click)(struct tui_state *s, enum tui_win win, int y, int x);
	const struct tui_key *keys; /* its own keys (also the wheel's Up/Down) */
};

extern const struct tui_pane_ops pane_context, pane_candidates, pane_saliency, pane_attention,
	pane_hidden, pane_lens, pane_dla, pane_change, pane_patch, pane_divergence, pane_neurons;

/* ablate.c: the attention pane's keys that ablate the selected head (or
 * restore it) and restore every head; whether head (l, h) is ablated. */
int tui_k_ablate(struct tui_state *s, int key);
int tui_k_restore(struct tui_state *s, int key);
int tui_head_ablated(const struct tui_state *s, int l, int h);
/* timeline.c: { and } step to the previous / next training snapshot; the
 * status line's part for the snapshot shown ("" without snapshots; the
 * sparkline in block characters when utf8, else ASCII). */
int tui_k_timeline(struct tui_state *s, int key);
void tui_timeline_status(const struct tui_state *s, int utf8, char *buf, size_t size);
/* pane_dla.c: D puts the DLA pane in the lens's place (again: the lens). */
int tui_k_dla(struct tui_state *s, int key);
/* pane_divergence.c: V puts the divergence of two models side by side in
 * the lens's place (again: the lens). */
int tui_k_divergence(struct tui_state *s, int key);
/* pane_neurons.c: N puts the MLP neurons pane in the lens's place (again:
 * the lens); tui_neurons_sync brings the request's neuron position in line
 * with the selected token, 1 when it changed. */
int tui_k_neurons(struct tui_state *s, int key);
int tui_neurons_sync(struct tui_state *s);
/* pane_change.c: K puts the change strip in the saliency's place (again: back). */
int tui_k_change(struct tui_state *s, int key);
/* pane_patch.c: H puts the patching pane in the attention's place (again:
 * back); while the corrupted context is edited every key goes to it. */
int tui_k_patch(struct tui_state *s, int key);
int tui_patch_edit_key(struct tui_state *s, int key, int is_func);
/* A lesson step's causal settings (pane_patch.c): the heads ablated, the
 * corrupted context ("" : the attention pane instead of patching) and the
 * overview's numbers (0 entropy, 1 + a detector); 1 when the request changed. */
int tui_interp_settings(struct tui_state *s, const char *ablate, const char *corrupt, int score);

/* Fills s->pane for the side's model. */
void tui_panes_init(struct tui_state *s);
/* The pane that draws in layout window w (the context pane for both of its
 * windows), or NULL. */
const struct tui_pane_ops *tui_pane_of(const struct tui_state *s, enum tui_win w);
/* Runs key through one pane's table only; TUI_UNHANDLED when not its key. */
int tui_pane_key(struct tui_state *s, const struct tui_pane_ops *p, int key, int is_func);
/* The key's entry in a table (ending in {0}), or NULL. */
const struct tui_key *tui_key_lookup(const struct tui_key *t, int key, int is_func);

/* Panes' helpers used outside their file: the context's input line (drawn
 * last, it holds the cursor), the candidate selection brought in line with
 * a new view, the saliency's faithfulness rows y and y + 1 (presenter mode
 * draws them too). */
void pane_context_draw_input(struct tui_state *s, WINDOW *w);
void pane_candidates_sync(struct tui_state *s);
/* Candidate i's probability as shown: the view's distribution at the
 * sampling temperature, p_T(i) = exp(log p_i / T) / sum_j exp(log p_j / T),
 * and the length of its bar in [0, 1] (0-100%, or relative to the top). */
double tui_cand_prob(struct tui_state *s, int i);
double tui_cand_bar(struct tui_state *s, int i);
void pane_saliency_faith(struct tui_state *s, WINDOW *w, int y);

/* Shared by panes: the view's token j as a display string. */
const char *tui_view_token(const struct tui_state *s, int j, char *buf, size_t size);
/* Number of positions the view has (0 when none). */
int tui_view_n(const struct tui_state *s);
/* Selected token for query mode: a valid index or -1. */
int tui_query(const struct tui_state *s);
/* Appends a token's text to the context (step-by-step generation). */
int tui_append_token(struct tui_state *s, int id);
/* The scrolling keys of the matrix panes (attention, hidden states): arrows
 * by one, PgUp/PgDn and Shift-arrows by a page of nr rows / nc columns,
 * Home to the top-left corner, End back to following the newest tokens.
 * row0/col0 are the corner shown now. Returns TUI_REDRAW or TUI_NONE. */
int tui_matrix_scroll(struct tui_state *s, int key, int row0, int col0, int nr, int nc);

/* ---- export ------------------------------------------------------------------ */
/* Writes the screen as seen to path; 0 and a message on failure. */
int tui_export_text(const char *path, char *msg, size_t size);

#endif

/* Teaching and comparing: what the explorer adds for a class. One or two
 * sides (a model each, `lmscope MODEL_A MODEL_B`) driven by the same typed
 * context, a lesson being played (lesson_play.c), a recording being made
 * (record.c), the color theme and presenter mode (theme.c), pinned results
 * (pin.c), and the split of the screen between the sides (compare.c).
 *
 * The main loop (explorer.c) owns input: teaching keys are tables like the
 * panes' (help generated from them), their handlers return reaction flags
 * per side, and only the loop acts on them. */
#ifndef LMS_TUI_TEACH_H
#define LMS_TUI_TEACH_H

#include "cast.h"
#include "lesson.h"
#include "ui.h"

#define TUI_SIDES 2
#define TUI_CAPTION_MAX 8 /* rows of the caption box at most */

struct tui_player;

/* A screen's settings in a lesson's terms (record.c). */
struct tui_snap {
	char *context;
	int focus, method, layer, head, mean, view, query, present, theme, pin;
	char target[64], contrast[64];
};

struct tui_app {
	struct tui_state *side[TUI_SIDES];
	int n_sides;
	int active;                /* side that gets the keys */
	int stacked;               /* sides one above the other (a narrow screen) */
	int flags[TUI_SIDES];      /* reactions collected for each side */
	int theme;                 /* LESSON_DARK or LESSON_LIGHT */
	int present;               /* presenter mode: the focused pane enlarged */
	struct tui_player *player; /* lesson being played, or NULL */
	struct lesson rec;         /* the recording (rec.n steps so far) */
	const char *rec_path;      /* where it is written; NULL: not recording */
	struct tui_snap rec_last;  /* the screen of the step recorded last */
	int rec_have_last;
	struct tui_cast cast; /* the cast being written (casting.c) */
	int casting;          /* cast is open */
	double cast_pause;    /* --cast-speed: longest pause kept, seconds */
	char cast_name[512];  /* its file */
	char cast_title[256]; /* its header's title */
	WINDOW *caption;      /* the lesson's caption box, or NULL */
	int caption_h;        /* rows it takes at the bottom */
};

/* ---- compare.c: the screen split between the sides ----------------------- */
/* Recomputes every side's layout and the caption box from the terminal size. */
void tui_app_layout(struct tui_app *app);
/* The side whose area holds the screen position. */
int tui_app_side_at(const struct tui_app *app, int y, int x);
/* After the active side's context changed: the other sides get the same
 * text (each through its own tokenizer). */
void tui_app_mirror(struct tui_app *app, int from);

/* ---- keys (teach_keys.c) ------------------------------------------------- */
/* Teaching keys before the pane tables: lesson navigation while a lesson
 * plays, theme, presenter mode, pin, record, switch side. Adds reactions to
 * app->flags and returns 1 when the key was one of them. */
int tui_teach_key(struct tui_app *app, int key, int is_func);
extern const struct tui_key tui_teach_global_keys[];
extern const struct tui_key tui_teach_command_keys[];
extern const struct tui_key tui_lesson_keys[];

/* ---- theme.c --------------------------------------------------------------- */
/* Switches the color scheme (LESSON_DARK / LESSON_LIGHT) and repaints the
 * backgrounds. */
void tui_theme_set(struct tui_app *app, int theme);
/* The pane window presenter mode enlarges for a side, or -1 when off. */
int tui_present_win(const struct tui_state *s);
/* Presenter mode is on (panes draw larger bars and labels). */
int tui_presenting(const struct tui_state *s);
/* The candidates and saliency panes in presenter mode: a bold label row
 * and a bar two rows high per entry. */
void tui_present_candidates(struct tui_state *s, WINDOW *w);
void tui_present_saliency(struct tui_state *s, WINDOW *w);

/* ---- pin.c ----------------------------------------------------------------- */
/* Pins the side's current results (or unpins); returns reaction flags. */
int tui_pin_toggle(struct tui_state *s, int on);
/* Δ probability of candidate id against the pin: 1 and *d, or 0 unpinned. */
int tui_pin_dprob(const struct tui_state *s, int id, double *d);
/* Δ saliency of the token at position j against the pin's position j
 * (same method): 1 and *d, or 0 when there is nothing to compare with. */
int tui_pin_dsal(const struct tui_state *s, int j, double *d);
/* Appends the pin to title (nothing when not pinned) in the columns of
 * width that title leaves: "  Δ vs '…the context's end'", the end cut to
 * fewer characters where the label would be wider, "  Δ" alone where not
 * one fits, nothing where not even that does. Returns title. */
char *tui_pin_append(const struct tui_state *s, char *title, size_t size, int width);
void tui_pin_free(struct tui_state *s);

/* ---- lesson_play.c --------------------------------------------------------- */
/* Starts playing ls (taken over) at its first step; 0 on allocation failure. */
int tui_player_start(struct tui_app *app, struct lesson *ls);
/* Returns 0, freeing nothing, when a claim of the lesson is still being
 * measured after a short wait (it uses the first side's model). */
int tui_player_free(struct tui_app *app);
/* Advances typing and waiting; adds reactions to app->flags. Call after
 * each round of input and results. */
void tui_player_tick(struct tui_app *app, double now_ms);
/* Milliseconds until the next tick is due (-1: none). */
int tui_player_timeout(const struct tui_app *app, double now_ms);
/* Called with every key: 1 when it is q and the status line says that the
 * lesson has ended and q quits (the message lasts until the next key). */
int tui_player_quit_key(struct tui_app *app, int key);
/* Steps forward (d = 1, typing the context) or back (d = -1, at once). */
void tui_player_go(struct tui_app *app, int d);
/* "step 2/7", the step's title and caption, and its claims with their
 * measurements, for the caption box. */
void tui_player_draw(struct tui_app *app, WINDOW *w);
/* Caption rows the current step wants (0: no box). */
int tui_player_caption_rows(const struct tui_app *app, int cols);
const char *tui_player_progress(const struct tui_app *app, char *buf, size_t size);

/* ---- record.c -------------------------------------------------------------- */
/* Adds the active side's screen as a step of the recording and rewrites
 * the file (app->rec_path, or lmscope-lesson.lesson); message in s->msg. */
int tui_record_step(struct tui_app *app);
void tui_record_free(struct tui_app *app);

/* ---- casting.c ------------------------------------------------------------- */
/* --cast PATH (NULL: none) and --cast-speed: the cast's temporary file is
 * created now, before the screen opens; 0 after "lmscope: PATH: what". */
int tui_casting_open(struct tui_app *app, const char *path, double max_pause);
/* F10: starts a cast into the first free lmscope-cast-N.cast, or stops the
 * one being made; message in the active side's status line. */
int tui_casting_toggle(struct tui_app *app);
/* Before the screen closes: finishes a cast being made; LMS_EXIT_OK, or
 * LMS_EXIT_IO after printing "lmscope: FILE: what". */
int tui_casting_end(struct tui_app *app);

#endif

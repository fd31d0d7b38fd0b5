/* The teaching keys: lesson navigation (while a lesson plays), the theme,
 * presenter mode, pinning, recording a lesson or a cast and, with two models, which side gets
 * the keys. Tables like the panes' (the help overlay lists them); the
 * handlers add reactions for every side they touch to app->flags. */
#include <stdio.h>

#include "front/i18n.h"
#include "teach.h"

static int all_sides(struct tui_app *app, int flags)
{
	for (int i = 0; i < app->n_sides; i++)
		app->flags[i] |= flags;
	return TUI_NONE;
}

static int k_next_step(struct tui_state *s, int key)
{
	(void)key;
	tui_player_go(s->app, 1);
	return TUI_REDRAW;
}

static int k_prev_step(struct tui_state *s, int key)
{
	(void)key;
	tui_player_go(s->app, -1);
	return TUI_REDRAW;
}

static int k_theme(struct tui_state *s, int key)
{
	(void)key;
	struct tui_app *app = s->app;
	tui_theme_set(app, app->theme == LESSON_LIGHT ? LESSON_DARK : LESSON_LIGHT);
	snprintf(s->msg, sizeof s->msg, "%s",
	         app->theme == LESSON_LIGHT ? _("light theme") : _("dark theme"));
	return TUI_NONE;
}

static int k_present(struct tui_state *s, int key)
{
	(void)key;
	struct tui_app *app = s->app;
	app->present = !app->present;
	snprintf(s->msg, sizeof s->msg, "%s",
	         app->present ? _("presenter mode on (Tab: next pane)") : _("presenter mode off"));
	return all_sides(app, TUI_RELAYOUT | TUI_REDRAW);
}

static int k_pin(struct tui_state *s, int key)
{
	(void)key;
	struct tui_app *app = s->app;
	int on = !s->pinned;
	for (int i = 0; i < app->n_sides; i++)
		app->flags[i] |= tui_pin_toggle(app->side[i], on);
	if (app->side[app->active] != s)
		snprintf(s->msg, sizeof s->msg, "%s", app->side[app->active]->msg);
	return TUI_REDRAW;
}

static int k_record(struct tui_state *s, int key)
{
	(void)key;
	tui_record_step(s->app);
	return TUI_REDRAW;
}

static int k_cast(struct tui_state *s, int key)
{
	(void)key;
	return tui_casting_toggle(s->app);
}

static int k_side(struct tui_state *s, int key)
{
	(void)key;
	struct tui_app *app = s->app;
	if (app->n_sides < 2)
		return TUI_NONE;
	app->active = (app->active + 1) % app->n_sides;
	snprintf(app->side[app->active]->msg, sizeof s->msg, "%s", _("keys go to this side"));
	return all_sides(app, TUI_REDRAW);
}

const struct tui_key tui_lesson_keys[] = {
	{' ', "Space / Right", N_("lesson: next step (the context is typed out)"), k_next_step},
	{KEY_RIGHT, NULL, NULL, k_next_step},
	{KEY_NPAGE, NULL, NULL, k_next_step},
	{KEY_LEFT, "Left", N_("lesson: previous step"), k_prev_step},
	{KEY_PPAGE, NULL, NULL, k_prev_step},
	{0, NULL, NULL, NULL},
};

const struct tui_key tui_teach_global_keys[] = {
	{KEY_F(6), "F6", N_("light / dark theme"), k_theme},
	{KEY_F(7), "F7", N_("record this screen as a lesson step"), k_record},
	{KEY_F(8), "F8", N_("presenter mode: the focused pane enlarged"), k_present},
	{KEY_F(9), "F9", N_("pin these results / unpin (panes show the change)"), k_pin},
	{KEY_F(10), "F10", N_("start / stop a cast: the screen as lmscope-cast-N.cast"), k_cast},
	{TUI_CTRL('o'), "Ctrl-O", N_("two models: the keys go to the other side"), k_side},
	{0, NULL, NULL, NULL},
};

const struct tui_key tui_teach_command_keys[] = {
	{'L', "L", N_("light / dark theme"), k_theme},
	{'R', "R", N_("record this screen as a lesson step"), k_record},
	{'P', "P", N_("presenter mode: the focused pane enlarged"), k_present},
	{'p', "p", N_("pin these results / unpin (panes show the change)"), k_pin},
	{'A', "A", N_("start / stop a cast (asciinema): the screen as lmscope-cast-N.cast"), k_cast},
	{0, NULL, NULL, NULL},
};

int tui_teach_key(struct tui_app *app, int key, int is_func)
{
	struct tui_state *s = app->side[app->active];
	const struct tui_key *k = NULL;
	if (tui_player_quit_key(app, is_func ? -1 : key)) {
		app->flags[app->active] |= TUI_QUIT; /* as the status line says, even while typing */
		return 1;
	}
	if (app->player)
		k = tui_key_lookup(tui_lesson_keys, key, is_func);
	if (!k)
		k = tui_key_lookup(tui_teach_global_keys, key, is_func);
	if (!k && s->focus != P_CONTEXT)
		k = tui_key_lookup(tui_teach_command_keys, key, is_func);
	if (!k)
		return 0;
	s->msg[0] = '\0';
	app->flags[app->active] |= k->fn(s, key);
	return 1;
}

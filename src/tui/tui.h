/* The explorer: `lmscope MODEL_DIR [--text TEXT]` opens an ncurses screen in
 * which a context is typed and the model's predictions, saliency, attention
 * (or recurrent activations) and logit lens update on every keystroke.
 * argv[0] is the model path. Returns the process exit status. */
#ifndef LMS_TUI_H
#define LMS_TUI_H

int lms_explorer_main(int argc, char **argv);

#endif

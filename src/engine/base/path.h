/* File names inside directories: the engine's one path-joining helper. */
#ifndef LMS_PATH_H
#define LMS_PATH_H

/* "dir/name" (no second slash when dir ends in one), malloc'd; NULL when
 * out of memory. */
char *lms_path_join(const char *dir, const char *name);

#endif

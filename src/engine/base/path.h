/* File names inside directories: the one path-joining helper of the engine
 * (files that predate it still carry their own copies). */
#ifndef LMS_PATH_H
#define LMS_PATH_H

/* "dir/name", malloc'd; NULL when out of memory. */
char *lms_path_join(const char *dir, const char *name);

#endif

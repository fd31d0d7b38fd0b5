/* Shared by the fuzz targets (tests/fuzz/fuzz_*.c): the loaders take paths,
 * so each input is written to a file in a private temporary directory that
 * is removed at exit. Every target defines LLVMFuzzerTestOneInput; libFuzzer
 * drives it under `make fuzz`, replay.c feeds it files under `make check`. */
#ifndef LMS_FUZZ_H
#define LMS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The path of name inside this process's temporary directory (static
 * storage, valid until the next call). */
const char *fuzz_path(const char *name);
/* Writes size bytes to fuzz_path(name) and returns that path; aborts when
 * the file cannot be written (the harness is broken, not the input). */
const char *fuzz_write(const char *name, const void *data, size_t size);
/* The temporary directory itself. */
const char *fuzz_dir(void);

/* Aborts with a message: a property the target checks was violated. */
void fuzz_die(const char *what) __attribute__((noreturn));

#endif

/* The check counter shared by the C test programs: CHECK(cond) counts a pass or prints the failed
 * condition with its place; each program prints "c-tests: N passed, N failed" from the counts. */
#ifndef RSESS_TESTS_CHECK_H
#define RSESS_TESTS_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            passed++;                                                                 \
        } else {                                                                      \
            failed++;                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

#endif

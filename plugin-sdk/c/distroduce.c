/* The implementation of distroduce.h, for builds that prefer a separate .c file: compile this
 * file with the plugin's sources, and include distroduce.h without DISTRODUCE_IMPLEMENTATION. */
#define DISTRODUCE_IMPLEMENTATION
#include "distroduce.h"

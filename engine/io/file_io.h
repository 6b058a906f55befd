// The file layer in one include, for code written before engine/io/ was split by concept: the
// codecs' names (compression.h), input streams (input_stream.h), output streams (output_stream.h)
// and plan-time path checks (paths.h). New code includes the header it needs.
#pragma once

#include "engine/io/compression.h"
#include "engine/io/input_stream.h"
#include "engine/io/output_stream.h"
#include "engine/io/paths.h"

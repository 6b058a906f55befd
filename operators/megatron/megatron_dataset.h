// The Megatron indexed dataset library in one include, for code that uses several of its parts:
// the format (format.h), the streaming writer (writer.h), the commit of a dataset's files
// (commit.h), the validating reader (reader.h), discovery of a prefix's datasets (discovery.h),
// merge (merge.h) and inspection (inspect.h).
// Prefer the part's own header where one is enough. Thread safety: as each part states.
#pragma once

#include "operators/megatron/commit.h"
#include "operators/megatron/discovery.h"
#include "operators/megatron/format.h"
#include "operators/megatron/inspect.h"
#include "operators/megatron/merge.h"
#include "operators/megatron/reader.h"
#include "operators/megatron/writer.h"

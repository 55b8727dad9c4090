#pragma once

// The test kit for users' pipelines: test_stream with actions (add_data, check_answer,
// stop_stream, start_stream, advance_manual_clock, ...), as Spark's StreamTest but public.
#include "actors/stream_test.hpp"

#pragma once

// The SQL type names live with the expressions, which read them in DDL schemas (from_json).
#include "operators/type_names.hpp"

#pragma once

#include <span>
#include <string_view>

namespace sluice::monitoring {

/// One file of the dashboard, compiled into the binary (see embed_files.cmake).
struct EmbeddedFile {
  std::string_view url_path;      ///< where the server serves it, e.g. "/assets/uPlot.iife.min.js"
  std::string_view content_type;  ///< its HTTP Content-Type
  std::string_view content;
};

/// Returns the dashboard's page, script and style sheet and uPlot's. Thread-safe (constant).
std::span<const EmbeddedFile> embedded_files();

}  // namespace sluice::monitoring

#pragma once
// Reading whole files, and writing them so that readers only ever see the old or the complete new version: write a
// temporary file beside the target, flush it to disk, then rename it over the target (atomic on POSIX file
// systems). Errors are gt::Error and start with the file.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include "base/error.h"

namespace gt {

std::string read_text_file(const std::filesystem::path& path);

// Calls write(os) on `path`.tmp.<pid> and renames it to `path`. If write throws or the disk fills, the temporary is
// removed, `path` is untouched and the error names the file.
void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

// The same for writers that need a file name rather than a stream (HDF5): create(tmp) makes the whole new file at
// the path `tmp` and closes it.
void replace_file_atomically(const std::filesystem::path& path,
                             const std::function<void(const std::string& tmp)>& create);

}  // namespace gt

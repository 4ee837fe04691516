#pragma once
// Writing files so that readers only ever see the old or the complete new version: write a temporary file beside
// the target, flush it to disk, then rename it over the target (atomic on POSIX file systems).
#include <functional>
#include <ostream>
#include <string>

namespace gt {

// Calls write(os) on a temporary file and renames it to `path`. If write throws or the disk fills, the temporary
// is removed, `path` is untouched and the error names the file.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace gt

#include "autograd/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "autograd/error.h"

namespace gt {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    {
      std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
      GT_CHECK(os, path, ": cannot create temporary file ", tmp, " (", std::strerror(errno), ")");
      write(os);
      os.flush();
      GT_CHECK(os, path, ": write failed (", std::strerror(errno), ")");
    }
    // fsync before rename: otherwise a power cut can leave the new name pointing at an empty file.
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
    GT_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, path, ": cannot rename ", tmp, " into place (",
             std::strerror(errno), ")");
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace gt

#include "base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <streambuf>

#include "base/error.h"

namespace gt {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail_errno(const fs::path& path, const char* what, int err) {
  throw Error(path.string() + ": cannot " + what + ": " + std::strerror(err));
}

// A stream buffer straight onto a file descriptor, so that what is written is what gets fsync'd, and a failed
// write keeps its errno for the message.
class FdBuf : public std::streambuf {
 public:
  explicit FdBuf(int fd) : fd_(fd) { setp(buf_, buf_ + sizeof buf_); }
  int error() const { return err_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n < epptr() - pptr()) {
      std::memcpy(pptr(), s, static_cast<std::size_t>(n));
      pbump(static_cast<int>(n));
      return n;
    }
    // Large blocks (tensor data) go straight to the file.
    return drain() && put(s, static_cast<std::size_t>(n)) ? n : 0;
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool put(const char* p, std::size_t n) {
    while (n > 0 && !err_) {
      const ssize_t k = ::write(fd_, p, n);
      if (k >= 0) {
        p += k;
        n -= static_cast<std::size_t>(k);
      } else if (errno != EINTR) {
        err_ = errno;
      }
    }
    return !err_;
  }
  bool drain() {
    const bool ok = put(pbase(), static_cast<std::size_t>(pptr() - pbase()));
    setp(buf_, buf_ + sizeof buf_);
    return ok;
  }

  int fd_;
  int err_ = 0;
  char buf_[1 << 16];
};

fs::path temporary_for(const fs::path& path) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  return tmp;
}

// Syncs and closes fd (the temporary, written with error `err` so far), renames tmp over path and syncs the folder,
// so that after a power cut the new name never points at a partly written file. On failure the temporary is
// removed and the error names path.
void commit(int fd, int err, const fs::path& tmp, const fs::path& path) {
  if (!err && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (!err && ::rename(tmp.c_str(), path.c_str()) == 0) {
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
      ::fsync(d);  // best effort: the file itself is complete either way
      ::close(d);
    }
    return;
  }
  const char* what = err ? "write" : "replace";
  if (!err) err = errno;
  ::unlink(tmp.c_str());
  fail_errno(path, what, err);
}

}  // namespace

std::string read_text_file(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail_errno(path, "open", errno);
  // fopen opens a folder, and some libcs then read it as empty.
  if (struct stat st {}; fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(f);
    throw Error(path.string() + ": is a folder, expected a file");
  }
  std::string data;
  std::error_code ec;
  if (auto size = fs::file_size(path, ec); !ec) data.reserve(size);
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err) fail_errno(path, "read", err);
  return data;
}

void write_file_atomically(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  const fs::path tmp = temporary_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno(path, "create its temporary file", errno);
  int err = 0;
  try {
    FdBuf buf(fd);
    std::ostream os(&buf);
    write(os);
    os.flush();
    err = buf.error();
    if (!err && !os) err = EIO;
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  commit(fd, err, tmp, path);
}

void write_file_atomically(const fs::path& path, std::string_view content) {
  write_file_atomically(path, [&](std::ostream& os) {
    os.write(content.data(), static_cast<std::streamsize>(content.size()));
  });
}

void replace_file_atomically(const fs::path& path, const std::function<void(const std::string& tmp)>& create) {
  const fs::path tmp = temporary_for(path);
  try {
    create(tmp.string());
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail_errno(path, "write", err);
  }
  commit(fd, 0, tmp, path);
}

}  // namespace gt

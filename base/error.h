#pragma once
// One exception type for the whole framework; messages name the op (or file, and line) and the offending values.
#include <sstream>
#include <stdexcept>
#include <string>

namespace gt {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... R>
void append(std::ostringstream& os, const T& v, const R&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

template <class... A>
[[noreturn]] void fail(const A&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  throw Error(os.str());
}

#define GT_CHECK(cond, ...)                  \
  do {                                       \
    if (!(cond)) ::gt::fail(__VA_ARGS__);    \
  } while (0)

}  // namespace gt

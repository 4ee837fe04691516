#pragma once
// Shared pieces of the Gemma 4 model tests: fixture paths, scratch folders and error measures.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace gt::testing {

inline std::string fixture(const std::string& name) { return std::string(GT_FIXTURES) + "/model/" + name; }

// A fresh scratch folder (removed first if a previous run left it).
inline std::string scratch_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path p = fs::temp_directory_path() / ("gt_model_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// Copies a fixture checkpoint into a scratch folder, for tests that damage it.
inline std::string copy_fixture(const std::string& name, const std::string& as) {
  namespace fs = std::filesystem;
  const std::string dst = scratch_dir(as);
  fs::copy(fixture(name), dst, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return dst;
}

inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_floats(), y = b.to_floats();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(x[i]) - y[i]));
  return m;
}

// The relative error used for gradients: max |a - ref| / max |ref| (the infinity norm of the difference over the
// infinity norm of the reference), so one badly wrong element fails even in a large tensor.
inline double rel_inf_error(const Tensor& a, const Tensor& ref) {
  const std::vector<float> r = ref.to_floats();
  double m = 0;
  for (float v : r) m = std::max(m, std::fabs(static_cast<double>(v)));
  const double d = max_abs_diff(a, ref);
  return m > 0 ? d / m : d;
}

}  // namespace gt::testing

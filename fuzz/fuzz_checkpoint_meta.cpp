// A training state's /meta (the JSON header of train/checkpoint.h) inside an otherwise valid HDF5 file, read as
// `--resume` reads it. The HDF5 container itself is libhdf5's to parse and is not fuzzed here.
#include <hdf5.h>

#include <algorithm>

#include "fuzz/fuzz_support.h"
#include "train/checkpoint.h"

namespace {

void write_state_file(const std::string& path, std::string_view meta) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, std::max<size_t>(1, meta.size()));
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t d = H5Dcreate2(file, "meta", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const std::string buf = meta.empty() ? std::string(1, '\0') : std::string(meta);
  H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
  H5Dclose(d);
  H5Sclose(space);
  H5Tclose(type);
  for (const char* g : {"model", "optimizer", "extra"})
    H5Gclose(H5Gcreate2(file, g, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Fclose(file);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (gt::fuzz::scratch_dir() / "step-00000001.h5").string();
  write_state_file(path, gt::fuzz::as_text(data, size));
  gt::fuzz::expect_value_or_error([&] { (void)gt::train::read_training_state(path); });
  return 0;
}

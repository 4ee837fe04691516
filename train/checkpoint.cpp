#include "train/checkpoint.h"

#include <hdf5.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "base/checked.h"
#include "base/checksum.h"
#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "data/chat_format.h"
#include "data/tokenizer.h"

namespace gt::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "gemma-tune training state";
constexpr int kVersion = 2;  // 1: no checksums, HDF5's earliest file format (read unverified)
constexpr const char* kChecksum = "crc32c";
// Large tensors (the 2.35 G-element PLE table) are written and read in slabs of rows: single HDF5 transfers of
// many GB hit the 2 GiB limit of one POSIX read/write on some systems.
constexpr size_t kSlabBytes = size_t{256} << 20;

// HDF5 prints its error stack to stderr by default; we throw our own messages instead, with its innermost one.
void quiet_hdf5() {
  static const bool once = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)once;
}

std::string hdf5_detail() {
  std::string msg;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t* e, void* d) -> herr_t {
        auto* s = static_cast<std::string*>(d);
        if (s->empty() && e->desc && *e->desc) *s = e->desc;
        return 0;
      },
      &msg);
  H5Eclear2(H5E_DEFAULT);
  return msg.empty() ? "" : " (" + msg + ")";
}

class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { close(); }
  // Closing a file writes what HDF5 still buffers, so a writer must check it.
  herr_t close() {
    const herr_t r = id_ >= 0 ? close_(id_) : 0;
    id_ = -1;
    return r;
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

struct TypePair {
  hid_t file, memory;
};

TypePair hdf5_type(DType d) {
  switch (d) {
    case DType::F32: return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT};
    case DType::BF16: return {H5T_STD_U16LE, H5T_NATIVE_UINT16};
    case DType::I32: return {H5T_STD_I32LE, H5T_NATIVE_INT32};
    case DType::I64: return {H5T_STD_I64LE, H5T_NATIVE_INT64};
  }
  fail("checkpoint: unsupported dtype");
}

// Calls io(memory space, file space, first element) for slabs of whole rows of a dataset shaped `shape`.
template <class F>
bool for_slabs(hid_t dset, const Shape& shape, size_t elem_bytes, F io) {
  if (shape.empty() || shape_numel(shape) == 0) return io(H5S_ALL, H5S_ALL, int64_t{0});
  const int64_t row = shape_numel(shape) / shape[0];
  const int64_t rows_per =
      std::max<int64_t>(1, static_cast<int64_t>(kSlabBytes / (elem_bytes * std::max<int64_t>(row, 1))));
  if (rows_per >= shape[0]) return io(H5S_ALL, H5S_ALL, int64_t{0});
  std::vector<hsize_t> dims(shape.begin(), shape.end()), start(shape.size(), 0), count = dims;
  Handle file_space(H5Dget_space(dset), H5Sclose);
  if (!file_space.ok()) return false;
  for (int64_t r0 = 0; r0 < shape[0]; r0 += rows_per) {
    start[0] = static_cast<hsize_t>(r0);
    count[0] = static_cast<hsize_t>(std::min(rows_per, shape[0] - r0));
    if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) < 0)
      return false;
    Handle mem_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
    if (!mem_space.ok() || !io(mem_space.get(), file_space.get(), r0 * row)) return false;
  }
  return true;
}

Handle make_group(hid_t file, const char* name) {
  // Creation order is tracked so that a state reads back in the order it was written.
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  return Handle(H5Gcreate2(file, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
}

// The checksum a version-2 file stores on every dataset (meta included), of the bytes it holds.
void write_checksum(hid_t d, uint32_t crc, const std::string& where, const std::string& path) {
  Handle as(H5Screate(H5S_SCALAR), H5Sclose);
  Handle a(H5Acreate2(d, kChecksum, H5T_STD_U32LE, as.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  GT_CHECK(a.ok() && H5Awrite(a.get(), H5T_NATIVE_UINT32, &crc) >= 0, path, ": cannot write the checksum of '", where,
           "'", hdf5_detail());
}

// The stored checksum of a dataset, or nothing when it has none (version 1).
std::optional<uint32_t> read_checksum(hid_t d, const std::string& where, const std::string& path) {
  if (H5Aexists(d, kChecksum) <= 0) return std::nullopt;
  Handle a(H5Aopen(d, kChecksum, H5P_DEFAULT), H5Aclose);
  uint32_t crc = 0;
  GT_CHECK(a.ok() && H5Aread(a.get(), H5T_NATIVE_UINT32, &crc) >= 0, path, ": cannot read the checksum of '", where,
           "' (corrupt file?)", hdf5_detail());
  return crc;
}

std::string hex32(uint32_t x) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", x);
  return buf;
}

// Refuses data whose checksum differs from the stored one; `verify` is off for version-1 files, which have none.
void check_checksum(bool verify, std::optional<uint32_t> stored, const void* data, size_t n, const std::string& what,
                    const std::string& path) {
  if (!verify) return;
  GT_CHECK(stored, path, ": ", what, " has no checksum, which a version-", kVersion,
           " training state stores for every dataset: the file is corrupt");
  const uint32_t computed = crc32c(data, n);
  GT_CHECK(*stored == computed, path, ": ", what, " fails its checksum (stored ", hex32(*stored), ", computed ",
           hex32(computed), "): the file is corrupt");
}

void write_string(hid_t loc, const char* name, const std::string& s, const std::string& path) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(1, s.size()));
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle d(H5Dcreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  std::string buf = s.empty() ? std::string(1, '\0') : s;
  GT_CHECK(d.ok() && H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) >= 0, path,
           ": cannot write '", name, "'", hdf5_detail());
  write_checksum(d.get(), crc32c(buf.data(), buf.size()), name, path);
}

// A dataset's size comes from the file's own header; a corrupt header can claim terabytes. The datasets are stored
// contiguous and uncompressed, so one larger than the whole file is refused before anything is allocated.
void check_fits_in_file(uint64_t bytes, const std::string& where, const std::string& path) {
  std::error_code ec;
  const uintmax_t file_bytes = std::filesystem::file_size(path, ec);
  GT_CHECK(!ec && bytes <= file_bytes, path, ": dataset '", where, "' claims ", bytes, " bytes but the file has ",
           ec ? 0 : file_bytes, " (corrupt file?)");
}

// The string dataset `name`, checked against its checksum when it has one; `checked` tells whether it had.
std::string read_string(hid_t loc, const char* name, const std::string& path, bool& checked) {
  Handle d(H5Dopen2(loc, name, H5P_DEFAULT), H5Dclose);
  GT_CHECK(d.ok(), path, ": no readable '", name, "' dataset: not a gemma-tune training state, or a corrupt one",
           hdf5_detail());
  Handle type(H5Dget_type(d.get()), H5Tclose);
  GT_CHECK(H5Tget_class(type.get()) == H5T_STRING, path, ": '", name, "' is not a string");
  check_fits_in_file(H5Tget_size(type.get()), name, path);
  std::string s(H5Tget_size(type.get()), '\0');
  GT_CHECK(H5Dread(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, s.data()) >= 0, path, ": cannot read '", name,
           "'", hdf5_detail());
  const std::optional<uint32_t> stored = read_checksum(d.get(), name, path);
  checked = stored.has_value();
  check_checksum(checked, stored, s.data(), s.size(), std::string("'") + name + "'", path);
  s.resize(std::strlen(s.c_str()));
  return s;
}

void write_tensor(hid_t group, const std::string& group_name, const std::string& name, const Tensor& t,
                  const std::string& path) {
  const Tensor c = t.detach().contiguous().to(Device::CPU);  // GPU state is written from a host copy
  const TypePair ty = hdf5_type(c.dtype());
  std::vector<hsize_t> dims(c.shape().begin(), c.shape().end());
  Handle space(
      dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
      H5Sclose);
  Handle d(H5Dcreate2(group, name.c_str(), ty.file, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  const std::string where = group_name + "/" + name;
  GT_CHECK(space.ok() && d.ok(), path, ": cannot create dataset '", where, "'", hdf5_detail());
  if (c.dtype() == DType::BF16) {
    Handle st(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(st.get(), 4);
    Handle as(H5Screate(H5S_SCALAR), H5Sclose);
    Handle a(H5Acreate2(d.get(), "dtype", st.get(), as.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    GT_CHECK(a.ok() && H5Awrite(a.get(), st.get(), "bf16") >= 0, path, ": cannot tag '", where, "' as bf16",
             hdf5_detail());
  }
  const size_t es = dtype_size(c.dtype());
  const char* base = static_cast<const char*>(c.raw());
  // The bytes in memory are the stored ones: every file type above is the little-endian form of its memory type.
  write_checksum(d.get(), crc32c(base, static_cast<size_t>(c.numel()) * es), where, path);
  if (c.numel() == 0) return;
  const bool ok = for_slabs(d.get(), c.shape(), es, [&](hid_t mem, hid_t file, int64_t first) {
    return H5Dwrite(d.get(), ty.memory, mem, file, H5P_DEFAULT, base + static_cast<size_t>(first) * es) >= 0;
  });
  GT_CHECK(ok, path, ": cannot write dataset '", where, "'", hdf5_detail());
}

bool is_bf16_tagged(hid_t d) {
  if (H5Aexists(d, "dtype") <= 0) return false;
  Handle a(H5Aopen(d, "dtype", H5P_DEFAULT), H5Aclose);
  Handle t(H5Aget_type(a.get()), H5Tclose);
  if (!a.ok() || H5Tget_class(t.get()) != H5T_STRING) return false;
  std::string s(H5Tget_size(t.get()), '\0');
  if (H5Aread(a.get(), t.get(), s.data()) < 0) return false;
  return std::string(s.c_str()) == "bf16";
}

Tensor read_tensor(hid_t group, const std::string& where, const std::string& name, const std::string& path,
                   bool verify) {
  Handle d(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
  GT_CHECK(d.ok(), path, ": cannot open dataset '", where, "'", hdf5_detail());
  Handle type(H5Dget_type(d.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  const size_t size = H5Tget_size(type.get());
  DType dt;
  if (cls == H5T_FLOAT && size == 4)
    dt = DType::F32;
  else if (cls == H5T_INTEGER && size == 8 && H5Tget_sign(type.get()) == H5T_SGN_2)
    dt = DType::I64;
  else if (cls == H5T_INTEGER && size == 4 && H5Tget_sign(type.get()) == H5T_SGN_2)
    dt = DType::I32;
  else if (cls == H5T_INTEGER && size == 2 && H5Tget_sign(type.get()) == H5T_SGN_NONE && is_bf16_tagged(d.get()))
    dt = DType::BF16;
  else
    fail(path, ": dataset '", where, "' has a type this reader does not know (class ", static_cast<int>(cls), ", ",
         size, " bytes)");
  Handle space(H5Dget_space(d.get()), H5Sclose);
  const int nd = H5Sget_simple_extent_ndims(space.get());
  GT_CHECK(nd >= 0, path, ": cannot read the shape of '", where, "'", hdf5_detail());
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  const Shape shape(dims.begin(), dims.end());
  const size_t es = dtype_size(dt);
  int64_t bytes = static_cast<int64_t>(es);
  for (hsize_t n : dims) {
    GT_CHECK(n <= static_cast<hsize_t>(INT64_MAX), path, ": dataset '", where, "' has a dimension of ", n);
    bytes = checked_mul(bytes, static_cast<int64_t>(n), path + ": the size of dataset '" + where + "'");
  }
  check_fits_in_file(static_cast<uint64_t>(bytes), where, path);
  Tensor t = Tensor::empty(shape, dt);
  char* base = static_cast<char*>(t.raw());
  if (t.numel() > 0) {
    const bool ok = for_slabs(d.get(), shape, es, [&](hid_t mem, hid_t file, int64_t first) {
      return H5Dread(d.get(), hdf5_type(dt).memory, mem, file, H5P_DEFAULT, base + static_cast<size_t>(first) * es) >=
             0;
    });
    GT_CHECK(ok, path, ": cannot read dataset '", where, "' (truncated or corrupt file?)", hdf5_detail());
  }
  check_checksum(verify, read_checksum(d.get(), where, path), base, static_cast<size_t>(t.numel()) * es,
                 "tensor '" + where + "'", path);
  return t;
}

void write_group(hid_t file, const char* group, const std::vector<std::pair<std::string, Tensor>>& tensors,
                 const std::string& path) {
  Handle g = make_group(file, group);
  GT_CHECK(g.ok(), path, ": cannot create group '", group, "'", hdf5_detail());
  for (const auto& [name, t] : tensors) {
    GT_CHECK(!name.empty() && name.find('/') == std::string::npos, path, ": tensor name '", name,
             "' cannot be a dataset name");
    write_tensor(g.get(), group, name, t, path);
  }
}

std::vector<std::pair<std::string, Tensor>> read_group(hid_t file, const char* group, const std::string& path,
                                                       bool verify) {
  Handle g(H5Gopen2(file, group, H5P_DEFAULT), H5Gclose);
  GT_CHECK(g.ok(), path, ": missing group '", group, "' (truncated or corrupt file?)", hdf5_detail());
  H5G_info_t info;
  GT_CHECK(H5Gget_info(g.get(), &info) >= 0, path, ": cannot list group '", group, "'", hdf5_detail());
  std::vector<std::pair<std::string, Tensor>> out;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    GT_CHECK(n > 0, path, ": cannot list group '", group, "'", hdf5_detail());
    std::string name(static_cast<size_t>(n) + 1, '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<size_t>(n));
    out.emplace_back(name, read_tensor(g.get(), std::string(group) + "/" + name, name, path, verify));
  }
  return out;
}

}  // namespace

const Tensor& TrainingState::extra_tensor(const std::string& name) const {
  for (const auto& [n, t] : extra)
    if (n == name) return t;
  fail("training state: no extra tensor '", name, "'");
}

void write_training_state(const std::string& path, const TrainingState& s) {
  quiet_hdf5();
  replace_file_atomically(path, [&](const std::string& tmp) {
    // HDF5's 1.8 file format checksums its own metadata (object headers, heaps, B-trees), which ours cannot cover;
    // h5py reads it (any HDF5 since 1.8).
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    GT_CHECK(fapl.ok() && H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18) >= 0, path,
             ": cannot choose the HDF5 file format", hdf5_detail());
    Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    GT_CHECK(file.ok(), path, ": cannot create ", tmp, hdf5_detail());
    const json meta = {{"format", kFormat},
                       {"version", kVersion},
                       {"trainer", s.trainer},
                       {"step", s.step},
                       {"config_hash", s.config_hash},
                       {"optimizer", {{"steps", s.optimizer.steps}, {"lr", s.optimizer.lr}}},
                       {"state", s.meta}};
    write_string(file.get(), "meta", meta.dump(), path);
    write_group(file.get(), "model", s.model, path);
    write_group(file.get(), "optimizer", s.optimizer.tensors, path);
    write_group(file.get(), "extra", s.extra, path);
    GT_CHECK(file.close() >= 0, path, ": cannot finish writing ", tmp, hdf5_detail());
  });
}

TrainingState read_training_state(const std::string& path) {
  quiet_hdf5();
  GT_CHECK(fs::is_regular_file(path), path, ": no such training state file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  GT_CHECK(file.ok(), path, ": cannot open as an HDF5 training state (truncated or corrupt file?)", hdf5_detail());
  json meta;
  bool checked = false;
  if (auto e = try_parse_json(read_string(file.get(), "meta", path, checked), meta))
    fail(path, ": its 'meta' is not valid JSON (", e->where(), ": ", e->reason, ")");
  // Fields of the wrong type are this file's problem, never an escaping nlohmann type_error (found by fuzzing).
  GT_CHECK(meta.is_object() && meta.contains("format") && meta["format"] == kFormat, path, ": not a ", kFormat);
  GT_CHECK(meta.contains("version") && meta["version"].is_number_integer(), path,
           ": 'meta' has no integer 'version'");
  // Whether to verify follows from the meta's own checksum, never from its version field alone: a version-2 meta
  // without one is corrupt, not old.
  const int64_t version = meta["version"].get<int64_t>();
  GT_CHECK(version == 1 || version == kVersion, path, ": training state version ", version,
           ", this build reads versions 1 and ", kVersion);
  GT_CHECK(checked == (version == kVersion), path, ": 'meta' ", checked ? "has a checksum, but says version 1"
                                                                        : "has no checksum",
           ": the file is corrupt");
  TrainingState s;
  s.format_version = version;
  try {
    s.trainer = meta.at("trainer").get<std::string>();
    s.step = meta.at("step").get<int64_t>();
    s.config_hash = meta.at("config_hash").get<std::string>();
    s.optimizer.steps = meta.at("optimizer").at("steps").get<int64_t>();
    s.optimizer.lr = meta.at("optimizer").at("lr").get<double>();
    s.meta = meta.at("state");
  } catch (const json::exception& e) {
    fail(path, ": incomplete 'meta' (", e.what(), ")");
  }
  s.model = read_group(file.get(), "model", path, checked);
  s.optimizer.tensors = read_group(file.get(), "optimizer", path, checked);
  s.extra = read_group(file.get(), "extra", path, checked);
  return s;
}

void load_model_tensors(NamedParameters& params, const TrainingState& state, const std::string& origin) {
  std::set<std::string> seen;
  for (const auto& [name, t] : state.model) {
    GT_CHECK(params.contains(name), origin, ": tensor '", name, "' is not a parameter of this model");
    Tensor& p = params.at(name);
    GT_CHECK(p.shape() == t.shape() && p.dtype() == t.dtype(), origin, ": tensor '", name, "' is ", t.str(),
             ", the model's is ", p.str());
    seen.insert(name);
  }
  for (const auto& [name, p] : params.items())
    GT_CHECK(seen.count(name), origin, ": parameter '", name, "' is missing");
  // Checked first and copied after, so that a bad file leaves the model as it was.
  NoGradGuard no_grad;
  for (const auto& [name, t] : state.model) params.at(name).detach().copy_from(t);
}

CheckpointDir::CheckpointDir(std::string dir, int64_t keep_last) : dir_(std::move(dir)), keep_last_(keep_last) {}

std::string CheckpointDir::path_for(int64_t step) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld.h5", static_cast<long long>(step));
  return (fs::path(dir_) / buf).string();
}

std::string CheckpointDir::save(const TrainingState& state) {
  fs::create_directories(dir_);
  const std::string path = path_for(state.step);
  write_training_state(path, state);
  const std::string name = fs::path(path).filename().string();
  write_file_atomically((fs::path(dir_) / "latest").string(), [&](std::ostream& os) { os << name << "\n"; });
  prune(path);
  return path;
}

std::optional<std::string> CheckpointDir::latest() const {
  const fs::path pointer = fs::path(dir_) / "latest";
  if (!fs::exists(pointer)) return std::nullopt;
  std::ifstream f(pointer);
  std::string name;
  std::getline(f, name);
  GT_CHECK(!name.empty() && name.find('/') == std::string::npos, pointer.string(), ": does not name a checkpoint file");
  const fs::path p = fs::path(dir_) / name;
  GT_CHECK(fs::is_regular_file(p), pointer.string(), " names ", p.string(), ", which does not exist");
  return p.string();
}

std::vector<int64_t> CheckpointDir::steps() const {
  std::vector<int64_t> out;
  if (!fs::is_directory(dir_)) return out;
  static const std::regex re("step-(\\d+)\\.h5");
  for (const auto& e : fs::directory_iterator(dir_)) {
    std::smatch m;
    const std::string n = e.path().filename().string();
    if (!std::regex_match(n, m, re)) continue;
    if (auto step = parse_int64(m[1].str())) out.push_back(*step);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void CheckpointDir::prune(const std::string& keep) const {
  // Temporaries belong to writers that died: this process has finished its own before pruning.
  static const std::regex tmp_re("(step-\\d+\\.h5|latest)\\.tmp\\.\\d+");
  for (const auto& e : fs::directory_iterator(dir_))
    if (std::regex_match(e.path().filename().string(), tmp_re)) fs::remove(e.path());
  if (keep_last_ <= 0) return;
  std::vector<int64_t> all = steps();
  const int64_t drop = static_cast<int64_t>(all.size()) - keep_last_;
  for (int64_t i = 0; i < drop; ++i) {
    const std::string p = path_for(all[static_cast<size_t>(i)]);
    if (p != keep) fs::remove(p);
  }
}

namespace {

// The folders `<target>.tmp.<pid>` and `<target>.old.<pid>` of exports killed midway, removed once that pid is
// gone. A live pid may be another process exporting to the same folder right now (or, rarely, an unrelated process
// that reused the pid: its folder then waits for a later export).
void remove_abandoned_exports(const fs::path& target) {
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    for (const char* kind : {".tmp.", ".old."}) {
      const std::string prefix = target.filename().string() + kind;
      if (name.size() <= prefix.size() || name.size() > prefix.size() + 9 || name.compare(0, prefix.size(), prefix))
        continue;
      const std::string digits = name.substr(prefix.size());
      if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(digits));
      if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
      fs::remove_all(e.path(), ec);  // best effort: a folder we cannot remove now is no reason to fail the export
    }
  }
}

}  // namespace

void export_hf(const Gemma4& model, const std::string& tokenizer_json, const std::string& dir,
               const std::string& source_dir, const std::function<void(const std::string&)>& write_model) {
  const data::Tokenizer tok = data::Tokenizer::from_file(tokenizer_json);
  json gen = {{"do_sample", true}, {"temperature", 1.0}, {"top_k", 64}, {"top_p", 0.95}};
  if (!source_dir.empty() && fs::exists(fs::path(source_dir) / "generation_config.json"))
    gen = read_json_file(fs::path(source_dir) / "generation_config.json");
  if (auto id = tok.token_to_id("<bos>")) gen["bos_token_id"] = *id;
  if (auto id = tok.token_to_id("<pad>")) gen["pad_token_id"] = *id;
  const json eos = data::chat_stop_ids(tok);
  GT_CHECK(!eos.empty(), tokenizer_json, ": has none of the stop tokens <eos>, <turn|>, <|tool_response>");
  gen["eos_token_id"] = eos;

  replace_dir_atomically(dir, [&](const std::string& tmp_dir) {
    const fs::path tmp(tmp_dir);
    if (write_model)
      write_model(tmp_dir);
    else
      model.save(tmp_dir);
    fs::copy_file(tokenizer_json, tmp / "tokenizer.json", fs::copy_options::overwrite_existing);
    for (const char* extra : {"tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"})
      if (!source_dir.empty() && fs::exists(fs::path(source_dir) / extra))
        fs::copy_file(fs::path(source_dir) / extra, tmp / extra, fs::copy_options::overwrite_existing);
    const std::string text = gen.dump(2) + "\n";
    write_file_atomically((tmp / "generation_config.json").string(), [&](std::ostream& os) { os << text; });
  });
}

void replace_dir_atomically(const std::string& dir, const std::function<void(const std::string& tmp)>& fill) {
  // "out/final/" names out/final, whose temporary must lie beside it, not inside.
  fs::path target = fs::path(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  remove_abandoned_exports(target);
  const fs::path tmp = target.string() + ".tmp." + std::to_string(::getpid());
  fs::remove_all(tmp);
  try {
    fill(tmp.string());
    // Renamed aside, not removed in place: a kill during remove_all would leave a partial folder at `target`.
    const fs::path old = target.string() + ".old." + std::to_string(::getpid());
    if (fs::exists(target)) fs::rename(target, old);
    fs::rename(tmp, target);
    fs::remove_all(old);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace gt::train

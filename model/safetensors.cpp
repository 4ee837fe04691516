#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/files.h"

namespace gt {

struct MappedFile {
  void* addr = nullptr;
  size_t size = 0;
  ~MappedFile() {
    if (addr && size) munmap(addr, size);
  }
};

namespace {

size_t dtype_bytes(const std::string& dt) {
  if (dt == "F32" || dt == "I32") return 4;
  if (dt == "BF16" || dt == "F16") return 2;
  if (dt == "I64") return 8;
  return 0;
}

const char* file_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
  }
  return "?";
}

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400u));
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY);
  GT_CHECK(fd >= 0, path, ": cannot open (", std::strerror(errno), ")");
  struct stat st {};
  fstat(fd, &st);
  const size_t size = static_cast<size_t>(st.st_size);
  auto map = std::make_shared<MappedFile>();
  if (size > 0) {
    // Private and writable: parameters that are views of the file can be updated in place (an optimizer step);
    // a written page becomes this process's copy and the file never changes. NORESERVE keeps a large checkpoint
    // from being charged as private memory up front.
    map->addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    if (map->addr == MAP_FAILED) map->addr = nullptr;
  }
  ::close(fd);
  GT_CHECK(map->addr, path, ": cannot memory-map (", size, " bytes)");
  map->size = size;
  f.map_ = map;
  const char* base = static_cast<const char*>(map->addr);
  GT_CHECK(size >= 8, path, ": truncated safetensors file (", size, " bytes, no header length)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, base, 8);
  GT_CHECK(header_len <= size - 8, path, ": truncated safetensors file (header of ", header_len,
           " bytes does not fit in ", size, ")");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(base + 8, base + 8 + header_len);
  } catch (const std::exception& e) {
    fail(path, ": safetensors header is not valid JSON (", e.what(), ")");
  }
  GT_CHECK(header.is_object(), path, ": safetensors header is not a JSON object");
  f.data_ = base + 8 + header_len;
  const size_t data_size = size - 8 - header_len;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      for (auto m = it->begin(); m != it->end(); ++m)
        if (m->is_string()) f.metadata_[m.key()] = m->get<std::string>();
      continue;
    }
    const auto& v = *it;
    Entry e;
    e.name = it.key();
    try {
      e.dtype = v.at("dtype").get<std::string>();
      e.shape = v.at("shape").get<Shape>();
      const auto off = v.at("data_offsets").get<std::vector<size_t>>();
      GT_CHECK(off.size() == 2, "data_offsets needs 2 numbers");
      e.begin = off[0];
      e.end = off[1];
    } catch (const Error&) {
      throw;
    } catch (const std::exception& ex) {
      fail(path, ": tensor '", e.name, "' has a malformed header entry (", ex.what(), ")");
    }
    const size_t eb = dtype_bytes(e.dtype);
    GT_CHECK(eb, path, ": tensor '", e.name, "' has unsupported dtype ", e.dtype);
    for (int64_t d : e.shape) GT_CHECK(d >= 0, path, ": tensor '", e.name, "' has a negative dimension");
    GT_CHECK(e.begin <= e.end && e.end - e.begin == static_cast<size_t>(shape_numel(e.shape)) * eb, path,
             ": tensor '", e.name, "' has ", e.end - e.begin, " bytes for ", e.dtype, shape_str(e.shape));
    GT_CHECK(e.end <= data_size, path, ": truncated file: tensor '", e.name, "' ends at byte ", e.end,
             " of a data section of ", data_size, " bytes");
    f.index_[e.name] = f.entries_.size();
    f.entries_.push_back(std::move(e));
  }
  return f;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) > 0; }

const SafetensorsFile::Entry& SafetensorsFile::entry(const std::string& name) const {
  auto it = index_.find(name);
  GT_CHECK(it != index_.end(), path_, ": no tensor named '", name, "'");
  return entries_[it->second];
}

Tensor SafetensorsFile::get(const std::string& name) const {
  const Entry& e = entry(name);
  const char* p = data_ + e.begin;
  if (e.dtype == "F16") {
    Tensor t = Tensor::empty(e.shape);
    float* out = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = half_to_float(h);
    }
    return t;
  }
  const DType dt = e.dtype == "F32" ? DType::F32 : e.dtype == "BF16" ? DType::BF16 : e.dtype == "I32" ? DType::I32
                                                                                                    : DType::I64;
  // Zero-copy when the data is aligned for its type (it is in files written by safetensors); copy otherwise.
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(dt) == 0)
    return Tensor::from_blob(const_cast<char*>(p), e.shape, dt, map_);
  Tensor t = Tensor::empty(e.shape, dt);
  if (e.end > e.begin) std::memcpy(t.raw(), p, e.end - e.begin);  // an empty tensor has no buffer to copy into
  return t;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  std::vector<Tensor> dense;
  for (const auto& [name, t] : tensors) {
    GT_CHECK(!header.contains(name), "save_safetensors(", path, "): duplicate tensor name '", name, "'");
    Tensor c = t.detach().contiguous();
    const size_t nbytes = static_cast<size_t>(c.numel()) * dtype_size(c.dtype());
    header[name] = {{"dtype", file_dtype(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    dense.push_back(c);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  write_file_atomically(path, [&](std::ostream& os) {
    const uint64_t len = h.size();
    os.write(reinterpret_cast<const char*>(&len), 8);
    os.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const Tensor& c : dense)
      os.write(static_cast<const char*>(c.raw()), static_cast<std::streamsize>(c.numel() * dtype_size(c.dtype())));
  });
}

}  // namespace gt

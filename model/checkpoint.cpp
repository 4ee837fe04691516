#include "model/checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_file.h"

namespace gt {

namespace fs = std::filesystem;

CheckpointReader CheckpointReader::open(const std::string& dir) {
  CheckpointReader r;
  r.dir_ = dir;
  GT_CHECK(fs::is_directory(dir), dir, ": not a checkpoint folder");
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(index)) {
    r.source_ = index.string();
    const nlohmann::json j = read_json_file(index);
    GT_CHECK(j.contains("weight_map") && j["weight_map"].is_object(), index.string(), ": no weight_map object");
    std::map<std::string, size_t> file_index;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      GT_CHECK(it->is_string(), index.string(), ": weight_map['", it.key(), "'] is not a file name (a string)");
      const std::string shard = it->get<std::string>();
      auto [pos, fresh] = file_index.emplace(shard, r.files_.size());
      if (fresh) r.files_.push_back(SafetensorsFile::open((fs::path(dir) / shard).string()));
      const SafetensorsFile& sf = r.files_[pos->second];
      GT_CHECK(sf.contains(it.key()), sf.path(), ": tensor '", it.key(), "' is listed for this shard in ",
               index.string(), " but the file does not hold it");
      r.where_[it.key()] = pos->second;
    }
  } else {
    const fs::path single = fs::path(dir) / "model.safetensors";
    GT_CHECK(fs::exists(single), dir, ": neither model.safetensors nor model.safetensors.index.json");
    r.source_ = single.string();
    r.files_.push_back(SafetensorsFile::open(single.string()));
    for (const auto& e : r.files_[0].entries()) r.where_[e.name] = 0;
  }
  return r;
}

const std::string& CheckpointReader::file_of(const std::string& name) const {
  auto it = where_.find(name);
  GT_CHECK(it != where_.end(), source_, ": checkpoint has no tensor '", name, "'");
  return files_[it->second].path();
}

const SafetensorsFile::Entry& CheckpointReader::entry(const std::string& name) const {
  auto it = where_.find(name);
  GT_CHECK(it != where_.end(), source_, ": checkpoint has no tensor '", name, "'");
  return files_[it->second].entry(name);
}

Tensor CheckpointReader::get(const std::string& name) const {
  auto it = where_.find(name);
  GT_CHECK(it != where_.end(), source_, ": checkpoint has no tensor '", name, "'");
  return files_[it->second].get(name);
}

std::vector<std::string> CheckpointReader::names() const {
  std::vector<std::string> out;
  for (const auto& [n, i] : where_) out.push_back(n);
  return out;
}

void write_checkpoint_tensors(const std::string& dir, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<RawTensor> raw;
  raw.reserve(tensors.size());
  for (const auto& [name, t] : tensors) raw.push_back(raw_tensor(name, t));
  write_checkpoint_tensors(dir, raw);
}

void write_checkpoint_tensors(const std::string& dir, const std::vector<RawTensor>& tensors) {
  fs::create_directories(dir);
  save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  // A stale index would make readers (ours and transformers') look for the old shards instead.
  std::error_code ec;
  fs::remove(fs::path(dir) / "model.safetensors.index.json", ec);
}

}  // namespace gt

#pragma once
// A Hugging Face checkpoint folder as a set of tensors: DIR/model.safetensors, or the shards that
// DIR/model.safetensors.index.json lists. Every file is memory-mapped (safetensors.h), so opening costs only the
// headers and a tensor's pages are read when first touched.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "model/safetensors.h"

namespace gt {

class CheckpointReader {
 public:
  // Opens and validates every file's header (a truncated file fails here, naming it). With an index, each tensor
  // must be in the shard the index names.
  static CheckpointReader open(const std::string& dir);

  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  // Errors name the tensor and the folder.
  const SafetensorsFile::Entry& entry(const std::string& name) const;
  const std::string& file_of(const std::string& name) const;
  Tensor get(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  const std::string& dir() const { return dir_; }
  // What errors about an absent tensor name: DIR/model.safetensors, or the index that lists the shards.
  const std::string& source() const { return source_; }

 private:
  std::string dir_, source_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
};

// Writes DIR/model.safetensors (format "pt", as transformers expects) atomically, and removes a shard index there.
void write_checkpoint_tensors(const std::string& dir, const std::vector<std::pair<std::string, Tensor>>& tensors);
void write_checkpoint_tensors(const std::string& dir, const std::vector<RawTensor>& tensors);

}  // namespace gt

#pragma once
// Training states shared by every trainer (SFT, GRPO): one HDF5 file per checkpoint, written so that a crash at any
// moment leaves the last complete one loadable, and the export of a model as a Hugging Face folder.
//
// File layout, format version 2 (docs/checkpoint-format.md; h5py can read it): /meta, a JSON string (format,
// version, trainer, step, config hash, optimizer steps and lr, and the trainer's own scalars); /model/<name> every
// entry of Gemma4::state(); /optimizer/<name> every tensor of OptimizerState; /extra/<name> the trainer's own arrays.
// f32, i32 and i64 tensors are stored as such; bf16 as 16-bit unsigned integers (the raw bits) with the attribute
// dtype = "bf16". Values round-trip bit for bit. Every dataset, meta included, carries the attribute crc32c (u32),
// the CRC-32C of its stored bytes (little-endian, row-major); a reader verifies each one and refuses a mismatch,
// naming the file and the dataset. The file uses HDF5's 1.8 format, which checksums HDF5's own metadata too.
//
// Version 1 (gemma-tune before checksums) is the same layout without the crc32c attributes, in HDF5's earliest
// format. It is still read, unverified (TrainingState::format_version says so, and a resume prints a notice):
// refusing it would strand every run started before version 2. Whether a file is verified follows from meta's own
// checksum, so a corrupted version field cannot turn the verification off.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/tensor.h"
#include "model/gemma4.h"
#include "optim/optimizer.h"

namespace gt::train {

struct TrainingState {
  int format_version = 2;   // of the file it was read from; 1: read without checksums
  std::string trainer;      // "sft", "grpo": a state is resumed only by the trainer that wrote it
  int64_t step = 0;         // optimizer steps taken
  std::string config_hash;  // of what decides the run's steps; a resume with another hash is refused
  nlohmann::json meta = nlohmann::json::object();  // the trainer's own scalars (data position, RNG states, ...)
  std::vector<std::pair<std::string, Tensor>> model;
  OptimizerState optimizer;
  std::vector<std::pair<std::string, Tensor>> extra;

  const Tensor& extra_tensor(const std::string& name) const;  // errors name the tensor
};

// Writes PATH.tmp.<pid>, syncs it and renames it to PATH: readers see the old file or the whole new one. On any
// error the temporary is removed and the message names PATH.
void write_training_state(const std::string& path, const TrainingState& state);
// Errors name the file (and the dataset): a truncated or corrupt file, a file of another format or version.
TrainingState read_training_state(const std::string& path);

// Copies the state's model tensors into `params` (names, shapes and dtypes must match exactly, both ways).
void load_model_tensors(NamedParameters& params, const TrainingState& state, const std::string& origin);

// A run's checkpoint folder: step-<8 digits>.h5 files and `latest`, a one-line text file naming the newest
// complete one, replaced atomically after that file is in place. Older files beyond keep_last are removed after
// `latest` moves on, as are temporaries left by a killed writer.
class CheckpointDir {
 public:
  CheckpointDir(std::string dir, int64_t keep_last);  // keep_last 0 keeps every checkpoint

  std::string path_for(int64_t step) const;
  // Writes the state, points `latest` at it, prunes; returns the file written.
  std::string save(const TrainingState& state);
  // The file `latest` names, or nothing when there is no `latest`; an error when it names a missing file.
  std::optional<std::string> latest() const;
  // Steps of the step-*.h5 files present, ascending.
  std::vector<int64_t> steps() const;
  const std::string& dir() const { return dir_; }

 private:
  void prune(const std::string& keep) const;
  std::string dir_;
  int64_t keep_last_;
};

// A Hugging Face folder that Gemma4::load, `eval`, `generate` and transformers read: config.json and
// model.safetensors (Gemma4::save, parameters in their storage dtype), tokenizer.json copied from `tokenizer_json`,
// and generation_config.json with the ids of <bos>, <pad> and the stop tokens <eos>, <turn|>, <|tool_response>
// looked up in that tokenizer ([1, 106, 50] for Gemma 4). tokenizer_config.json, special_tokens_map.json and
// chat_template.jinja are copied from `source_dir` when it has them. The folder is assembled beside `dir` (as
// `dir`.tmp.<pid>) and renamed into place, an existing `dir` first renamed aside (`dir`.old.<pid>, then removed),
// so a kill at any moment leaves `dir` complete or absent; such folders left by exports that were killed (their pid
// is gone) are removed first. `write_model`, when given, writes config.json and the weights into the folder
// instead of Gemma4::save (the FP8 export, export/fp8.h).
void export_hf(const Gemma4& model, const std::string& tokenizer_json, const std::string& dir,
               const std::string& source_dir = "",
               const std::function<void(const std::string& folder)>& write_model = {});

// The folder protocol of export_hf for any folder: fill(tmp) writes the whole new folder at `tmp`, beside `dir`,
// which then replaces `dir` by renames.
void replace_dir_atomically(const std::string& dir, const std::function<void(const std::string& tmp)>& fill);

}  // namespace gt::train

#pragma once
// TensorBoard event files, so `tensorboard --logdir runs/` shows a run's scalars: events.out.tfevents.<time>.<host>.
// <pid>.<n> in the metrics file's folder, a TFRecord file of tensorflow.Event messages (docs/metrics.md: each record
// is its length as a little-endian uint64, the masked CRC-32C of those 8 bytes, the payload, the masked CRC-32C of
// the payload). The first event names the format ("brain.Event:2"); each later one holds one step's scalars.
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace gt::train {

// TFRecord's checksum: CRC-32C rotated right by 15 bits plus 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t n);

// The scalars of a metrics.jsonl record under Hugging Face's TensorBoard tags (its TensorBoardCallback rewrites
// eval_x to eval/x and every other key to train/x): the numbers of "train" and "eval" records, without `step`;
// other record types, strings, nulls, booleans and objects give none.
std::vector<std::pair<std::string, double>> tensorboard_scalars(const nlohmann::json& record);

class EventFile {
 public:
  // Starts a new file in `dir` (never one that exists: a resumed run adds a file beside the old ones, which
  // TensorBoard reads together) and writes its file_version event.
  explicit EventFile(const std::string& dir);
  // One event at `step` holding `scalars` (stored as float32, TensorBoard's simple_value), flushed.
  void write(int64_t step, const std::vector<std::pair<std::string, double>>& scalars);
  const std::string& path() const { return path_; }

 private:
  void record(std::string_view payload);

  std::string path_;
  std::ofstream out_;
};

}  // namespace gt::train

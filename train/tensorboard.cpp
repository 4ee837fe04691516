#include "train/tensorboard.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "base/checksum.h"
#include "base/error.h"
#include "train/tensorboard.pb.h"

namespace gt::train {

namespace fs = std::filesystem;
using nlohmann::json;

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t crc = crc32c(data, n);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::vector<std::pair<std::string, double>> tensorboard_scalars(const json& record) {
  std::vector<std::pair<std::string, double>> out;
  const std::string type = record.is_object() ? record.value("type", "") : "";
  if (type != "train" && type != "eval") return out;
  for (const auto& [key, value] : record.items()) {
    if (key == "step" || !value.is_number()) continue;
    const bool eval = key.rfind("eval_", 0) == 0;
    out.emplace_back(eval ? "eval/" + key.substr(5) : "train/" + key, value.get<double>());
  }
  return out;
}

namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  std::string h = buf;
  for (char& c : h)
    if (c == '/' || c == '\\') c = '_';
  return h.empty() ? "localhost" : h;
}

// TensorBoard's (and PyTorch's SummaryWriter's) name, with a counter that keeps a second file of the same second
// from replacing the first.
std::string fresh_name(const fs::path& dir) {
  const auto t = static_cast<long long>(wall_time());
  const std::string stem =
      "events.out.tfevents." + std::to_string(t) + "." + host_name() + "." + std::to_string(getpid()) + ".";
  for (int n = 0;; ++n) {
    const fs::path p = dir / (stem + std::to_string(n));
    if (!fs::exists(p)) return p.string();
  }
}

void put_le(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

EventFile::EventFile(const std::string& dir) {
  fs::create_directories(dir);
  path_ = fresh_name(dir);
  out_.open(path_, std::ios::binary | std::ios::trunc);
  GT_CHECK(out_, path_, ": cannot open the TensorBoard event file for writing");
  tensorflow::Event e;
  e.set_wall_time(wall_time());
  e.set_file_version("brain.Event:2");
  record(e.SerializeAsString());
}

void EventFile::write(int64_t step, const std::vector<std::pair<std::string, double>>& scalars) {
  if (scalars.empty()) return;
  tensorflow::Event e;
  e.set_wall_time(wall_time());
  e.set_step(step);
  for (const auto& [tag, v] : scalars) {
    tensorflow::Summary::Value* value = e.mutable_summary()->add_value();
    value->set_tag(tag);
    value->set_simple_value(static_cast<float>(v));
  }
  record(e.SerializeAsString());
}

void EventFile::record(std::string_view payload) {
  std::string r;
  put_le(r, payload.size(), 8);
  put_le(r, masked_crc32c(r.data(), 8), 4);
  r += payload;
  put_le(r, masked_crc32c(payload.data(), payload.size()), 4);
  out_.write(r.data(), static_cast<std::streamsize>(r.size()));
  out_.flush();
  GT_CHECK(out_, path_, ": write failed");
}

}  // namespace gt::train

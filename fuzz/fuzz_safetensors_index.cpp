// model.safetensors.index.json: the fuzzed index beside two valid shards, opened as a checkpoint folder.
#include "autograd/tensor.h"
#include "fuzz/fuzz_support.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"

namespace {

const std::filesystem::path& folder() {
  static const std::filesystem::path dir = [] {
    const auto d = gt::fuzz::scratch_dir() / "ckpt";
    std::filesystem::create_directories(d);
    gt::save_safetensors((d / "model-00001-of-00002.safetensors").string(),
                         {{"a", gt::Tensor::zeros({2, 3})}, {"b", gt::Tensor::zeros({4})}});
    gt::save_safetensors((d / "model-00002-of-00002.safetensors").string(), {{"c", gt::Tensor::zeros({1, 2})}});
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = folder();
  gt::fuzz::write_scratch("ckpt/model.safetensors.index.json", gt::fuzz::as_text(data, size));
  gt::fuzz::expect_value_or_error([&] {
    const gt::CheckpointReader r = gt::CheckpointReader::open(dir.string());
    for (const auto& name : r.names()) (void)r.get(name).numel();
  });
  return 0;
}

#pragma once
// LoRA adapters on the Gemma 4 text decoder's linears, with the options and the folder layout of peft
// (docs/lora.md): y = x Wᵀ + s · (dropout(x) Aᵀ) Bᵀ, A [r, in] and B [out, r] trainable, W frozen, s = alpha / r
// (alpha / sqrt(r) with rsLoRA). Every adapted linear of the graph goes through lora_linear(), so the adapter is
// applied the same way in training, evaluation and generation, on whichever device the tensors are.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/autograd.h"
#include "autograd/tensor.h"

namespace gt {

class Gemma4;

// The linears an adapter may sit on, in their order inside a decoder layer.
enum class LoraTarget : uint8_t { Q, K, V, O, Gate, Up, Down };
inline constexpr size_t kLoraTargets = 7;
const char* lora_target_name(LoraTarget t);  // "q_proj", ..., "down_proj"
// The module path of a layer's linear below the text prefix: "layers.3.self_attn.q_proj", "layers.3.mlp.up_proj".
std::string lora_module_path(int64_t layer, LoraTarget t);

struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 8;
  double lora_dropout = 0;  // applied in training forwards only (ForwardOptions::lora_dropout_key)
  bool use_rslora = false;
  // peft's target_modules: names, where a module matches when its path equals a name or ends with "." + name; or,
  // when target_regex is set, one regular expression that must match the whole path (std::regex ECMAScript, which
  // agrees with Python's re on the usual patterns).
  std::vector<std::string> target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                             "down_proj"};
  std::optional<std::string> target_regex;

  double scale() const;
  // Throws gt::Error naming `where` for r < 1, a negative alpha, dropout outside [0, 1), no targets, a bad regex.
  void check(const std::string& where) const;
  // target_modules as adapter_config.json writes it: a list of names or the regex string.
  nlohmann::json targets_json() const;
};

// Reads peft's target_modules value (a list of strings or one string) into `c`; `where` names it in errors.
void set_lora_targets(LoraConfig& c, const nlohmann::json& v, const std::string& where);

// A and B of one linear; undefined when the linear carries no adapter.
struct LoraWeights {
  Tensor a, b;
  bool defined() const { return a.defined(); }
};

// How one forward applies the adapters.
struct LoraRun {
  double scale = 1;
  double dropout = 0;
  std::optional<uint64_t> dropout_key;  // set: training, dropout masks drawn from this key
};

// The seed of a training run's adapter initialisation, apart from the run's other streams.
uint64_t lora_init_seed(uint64_t run_seed);
// The dropout key of micro-batch `micro` of the step after `steps_done`: a function of the run's seed and position
// only, so a resumed run draws the masks an unbroken one would.
uint64_t lora_dropout_key(uint64_t run_seed, int64_t steps_done, int64_t micro);

// x [..., in] -> x Wᵀ, plus s · (dropout(x) Aᵀ) Bᵀ when `run` is given and `lora` is defined. `site` tells the
// linears apart so each draws its own dropout mask: the mask is a pure function of (key, site, element index), so a
// recomputed layer (checkpoint_layers) and a resumed run see the same one.
Tensor lora_linear(const Tensor& x, const Tensor& w, const LoraWeights& lora, const LoraRun* run, uint64_t site);

// The adapters of a whole model. State names are the HF parameter names below the text prefix, as in Gemma4::state():
// "layers.3.self_attn.q_proj.lora_A.weight" [r, in] and "...lora_B.weight" [out, r], all f32 and trainable.
class LoraAdapter {
 public:
  // Adapters on every linear of `model` that `config` targets (never k/v of a KV-shared layer, which has none):
  // A drawn as peft's kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), from a stream of `seed` and
  // the module path; B zero, so a fresh adapter leaves the outputs unchanged. target_modules is matched against the
  // full module path in the checkpoint's own layout (text_prefix(): "model.layers.3.mlp.up_proj" or
  // "model.language_model.layers.3.mlp.up_proj"), as peft matches it. Targets that match none of the seven linears,
  // or match a per-layer-input linear (not supported), are an error.
  static LoraAdapter create(const Gemma4& model, const LoraConfig& config, uint64_t seed);
  // Reads DIR/adapter_config.json and DIR/adapter_model.safetensors (peft's layout; keys under either text prefix).
  // Errors name the file: settings peft has that are not implemented (DoRA, modules_to_save, bias, fan_in_fan_out,
  // rank/alpha patterns), a key that is not a supported linear of `model`, a shape that does not fit, an A without B.
  static LoraAdapter load(const std::string& dir, const Gemma4& model);
  // Writes adapter_config.json and adapter_model.safetensors (f32, keys base_model.model.<prefix><path>) into DIR.
  void save(const std::string& dir, const std::string& prefix, const std::string& base_model) const;

  const LoraConfig& config() const { return config_; }
  NamedParameters& state() { return state_; }
  const NamedParameters& state() const { return state_; }
  const LoraWeights& weights(int64_t layer, LoraTarget t) const;
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  void to(Device device);  // fresh leaves on `device`, trainable as before

 private:
  LoraAdapter() = default;
  void add(int64_t layer, LoraTarget t, Tensor a, Tensor b);
  void build_handles();

  LoraConfig config_;
  NamedParameters state_;
  std::vector<std::array<LoraWeights, kLoraTargets>> layers_;
};

}  // namespace gt

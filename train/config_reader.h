#pragma once
// Strict reading of trainer configs (SFT, GRPO): typed reads by key from one JSON object, errors that name the file
// and the key ("configs/sft.json: 'optimizer.lr' must be a number, got string"), and an error for any key nobody
// read, so a misspelt key cannot be silently ignored; and the readers of the sections every trainer has (model,
// optimizer, schedule), which train/trainer_config.h puts together.
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "data/trl_format.h"
#include "model/gemma4.h"
#include "optim/adafactor.h"
#include "optim/adamw.h"

namespace gt::train {

enum class ScheduleKind : uint8_t { None, Linear, Cosine };
enum class OptimizerKind : uint8_t { Adafactor, AdamW };

const char* schedule_name(ScheduleKind s);
const char* storage_name(StoragePolicy s);

// Where a trainer's starting weights come from.
struct ModelSource {
  std::string dir;  // exactly one of dir and config is set
  std::string config;
  uint64_t init_seed = 0;
  double init_std = 0.02;
  StoragePolicy storage = StoragePolicy::Keep;
};

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Adafactor;
  AdafactorOptions adafactor;  // the one `kind` names is used
  AdamWOptions adamw;
  // The peak learning rate (0 under Adafactor's relative_step, which has none).
  double lr() const;
};

const char* json_type_name(const nlohmann::json& v);

// One object of a config, read key by key. Errors name the file and the key. done() checks that every key was read;
// the Section that holds the file's root (or whichever was made first) reports every unknown key of the whole file
// at once, each with the nearest known name ("unknown key 'learning_rte' (did you mean 'learning_rate'?)").
class Section {
 public:
  Section(const nlohmann::json& j, std::string file, std::string prefix);
  // The root of a trainer's config, where each key may also be given by its Hugging Face / TRL name
  // (config_names.h): "learning_rate" is read as "optimizer.lr", converted where the values differ in form.
  static Section with_hf_names(const nlohmann::json& root, std::string file);

  bool has(const char* key) const;  // under either name
  std::string name(const char* key) const;
  [[noreturn]] void bad(const char* key, const std::string& why) const;
  // "file: what", and the unknown keys found so far (for errors about more than one key).
  [[noreturn]] void error(const std::string& what) const;
  void require(const char* key) const;
  // The HF / TRL name that `key` was read under ("" when it was given by ours or not at all).
  std::string given_as(const char* key) const;

  std::string str(const char* key, const std::string& def);
  std::string path(const char* key, const std::string& def = "");  // a string that must not be empty when given
  std::vector<std::string> strings(const char* key);  // an array of strings; empty when absent
  // Counts, sizes and steps: at most kMaxCount, so that products of two (batch_size x grad_accumulation) fit in 64
  // bits and a value like INT64_MAX is an error, not a run of zero steps.
  static constexpr int64_t kMaxCount = int64_t{1} << 31;
  int64_t integer(const char* key, int64_t def, int64_t min);
  uint64_t seed(const char* key, uint64_t def);
  double number(const char* key, double def);
  std::optional<double> optional_number(const char* key, std::optional<double> def);
  bool boolean(const char* key, bool def);
  template <class E>
  E choice(const char* key, E def, std::initializer_list<std::pair<const char*, E>> options) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    std::string names;
    for (const auto& [n, e] : options) {
      if (v->is_string() && v->get<std::string>() == n) return e;
      names += (names.empty() ? "" : ", ") + std::string(n);
    }
    bad(key, "must be one of " + names + ", got " + v->dump());
  }
  Section section(const char* key);
  // The raw value of a key (marked as read), or null when absent.
  const nlohmann::json* find(const char* key);
  // The same, and an error ("must be <what>, got <its type>") when it is there but `ok` is false for it.
  const nlohmann::json* find_as(const char* key, bool (*ok)(const nlohmann::json&), const char* what);
  const std::string& file() const;

  // Every key must have been read (see the class comment).
  void done() const;

 private:
  struct File;  // what the Sections of one file share
  Section(const nlohmann::json& j, std::shared_ptr<File> f, std::string prefix, bool owner);
  // The value of our key given by its other name, converted (null when that name is absent).
  const nlohmann::json* find_other_name(const char* key, const nlohmann::json* own);
  std::string unknown_key(const std::string& key) const;
  std::string quoted(const char* key) const;  // 'name', or 'their_name' ('our.name') when read under theirs

  const nlohmann::json& j_;
  std::shared_ptr<File> f_;
  std::string prefix_;
  bool owner_;
  std::set<std::string> seen_;
  std::map<std::string, std::string> given_as_;  // key -> the HF / TRL name it was read under
};

// The shared sections. `model`: {"dir"} or {"config", "init_seed", "init_std"}, and "storage"; `optimizer`: the keys
// listed in sft_config.h with `default_lr` for a missing "lr" (the precision seed is `seed`); `schedule`: {"name",
// "warmup_steps"}, refused with Adafactor's relative_step unless none without warmup.
ModelSource read_model_source(Section& model, const std::string& file);
// A data section's "chat_template_kwargs" (data/trl_format.h): how the run renders TRL-format lines.
data::ChatTemplateKwargs read_chat_template_kwargs(Section& data_section);
OptimizerConfig read_optimizer(Section& opt, double default_lr, uint64_t seed);
void read_schedule(Section& sched, const OptimizerConfig& opt, ScheduleKind& kind, int64_t& warmup_steps,
                   double& warmup_ratio);

nlohmann::json model_identity(const ModelSource& m);  // what of the model source decides the run (not the paths)
nlohmann::json optimizer_json(const OptimizerConfig& o);

// Reads and parses a config file, YAML when its name ends in .yaml or .yml, else JSON; errors name it (`what` says
// which kind: "the SFT config").
nlohmann::json read_config_file(const std::string& path, const char* what);

}  // namespace gt::train

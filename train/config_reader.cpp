#include "train/config_reader.h"

#include <filesystem>

#include "base/json_file.h"
#include "base/nearest.h"
#include "base/yaml_file.h"
#include "train/config_names.h"

namespace gt::train {

using nlohmann::json;

const char* json_type_name(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  return v.type_name();
}

namespace {

// Each name of a config's choice, read by Section::choice and written back by the *_name functions.
template <class E>
using Names = std::initializer_list<std::pair<const char*, E>>;
const Names<ScheduleKind> kScheduleNames = {
    {"none", ScheduleKind::None}, {"linear", ScheduleKind::Linear}, {"cosine", ScheduleKind::Cosine}};
const Names<StoragePolicy> kStorageNames = {
    {"keep", StoragePolicy::Keep}, {"f32", StoragePolicy::F32}, {"bf16", StoragePolicy::BF16}};

template <class E>
const char* name_of(Names<E> names, E e) {
  for (const auto& [n, v] : names)
    if (v == e) return n;
  return "?";
}

}  // namespace

const char* schedule_name(ScheduleKind s) { return name_of(kScheduleNames, s); }
const char* storage_name(StoragePolicy s) { return name_of(kStorageNames, s); }

double OptimizerConfig::lr() const {
  if (kind == OptimizerKind::AdamW) return adamw.lr;
  return adafactor.lr.value_or(0.0);
}

struct Section::File {
  std::string name;
  const json* root = nullptr;  // set when HF / TRL names are read (with_hf_names)
  std::set<std::string> other_names_read;  // their names (dotted paths) read in place of ours
  std::map<std::string, json> converted;   // values converted from theirs, by their name
  std::vector<std::string> unknown;        // one message per unknown key, in file order
  bool reported = false;                   // the owner's done() has run
};

namespace {

// The value at a dotted path of `root`, or null.
const json* at_path(const json& root, const std::string& path) {
  const json* v = &root;
  std::size_t from = 0;
  while (true) {
    const std::size_t dot = path.find('.', from);
    if (!v->is_object()) return nullptr;
    auto it = v->find(path.substr(from, dot == std::string::npos ? dot : dot - from));
    if (it == v->end()) return nullptr;
    v = &*it;
    if (dot == std::string::npos) return v;
    from = dot + 1;
  }
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

}  // namespace

Section::Section(const json& j, std::string file, std::string prefix)
    : Section(j,
              [&] {
                auto f = std::make_shared<File>();
                f->name = std::move(file);
                return f;
              }(),
              std::move(prefix), true) {}

Section::Section(const json& j, std::shared_ptr<File> f, std::string prefix, bool owner)
    : j_(j), f_(std::move(f)), prefix_(std::move(prefix)), owner_(owner) {
  if (j.is_object()) return;
  if (prefix_.empty()) fail(f_->name, ": the config must be an object, got ", json_type_name(j));
  fail(f_->name, ": '", prefix_, "' must be an object, got ", json_type_name(j));
}

Section Section::with_hf_names(const json& root, std::string file) {
  Section s(root, std::move(file), "");
  s.f_->root = &root;
  return s;
}

const std::string& Section::file() const { return f_->name; }

std::string Section::name(const char* key) const {
  std::string p = prefix_;
  if (!p.empty() && *key) p += ".";
  return p + key;
}

std::string Section::quoted(const char* key) const {
  auto it = given_as_.find(key);
  if (it == given_as_.end()) return "'" + name(key) + "'";
  return "'" + it->second + "' ('" + name(key) + "')";
}

std::string Section::given_as(const char* key) const {
  auto it = given_as_.find(key);
  return it == given_as_.end() ? "" : it->second;
}

void Section::bad(const char* key, const std::string& why) const { error(quoted(key) + " " + why); }

void Section::error(const std::string& what) const {
  // Unknown keys found so far are named too, so one run of the config shows them with this error.
  const std::string also = f_->unknown.empty() ? "" : "\n" + join_lines(f_->unknown);
  fail(f_->name, ": ", what, also);
}

bool Section::has(const char* key) const {
  if (j_.contains(key)) return true;
  if (f_->root)
    for (const KeyName& k : key_names())
      if (k.ours && name(key) == k.ours && at_path(*f_->root, k.hf)) return true;
  return false;
}

void Section::require(const char* key) const {
  if (has(key)) return;
  fail(f_->name, ": missing required key '", name(key), "'");
}

const json* Section::find_other_name(const char* key, const json* own) {
  const std::string full = name(key);
  const json* found = own;
  std::string found_as = own ? full : "";
  for (const KeyName& k : key_names()) {
    if (!k.ours || full != k.ours) continue;
    const bool same_name = full == k.hf;
    const json* v = same_name ? own : at_path(*f_->root, k.hf);
    if (!v) continue;
    if (!same_name) {
      if (found)
        fail(f_->name, ": '", found_as, "' and '", k.hf, "' (", k.origin, "'s name for '", full,
             "') are both given; keep one");
      f_->other_names_read.insert(k.hf);
      given_as_[key] = k.hf;
      found_as = k.hf;
    }
    found = v;
    if (!k.convert) continue;
    std::string why;
    json converted = k.convert(*v, why);
    if (!why.empty()) bad(key, why);
    found = &(f_->converted[k.hf] = std::move(converted));
  }
  return found;
}

const json* Section::find(const char* key) {
  seen_.insert(key);
  auto it = j_.find(key);
  const json* own = it == j_.end() ? nullptr : &*it;
  return f_->root ? find_other_name(key, own) : own;
}

const json* Section::find_as(const char* key, bool (*ok)(const json&), const char* what) {
  const json* v = find(key);
  if (v && !ok(*v)) bad(key, std::string("must be ") + what + ", got " + json_type_name(*v));
  return v;
}

std::string Section::str(const char* key, const std::string& def) {
  const json* v = find_as(key, [](const json& j) { return j.is_string(); }, "a string");
  return v ? v->get<std::string>() : def;
}

std::vector<std::string> Section::strings(const char* key) {
  const json* v = find_as(key, [](const json& j) { return j.is_array(); }, "an array of strings");
  if (!v) return {};
  std::vector<std::string> out;
  for (const auto& e : *v) {
    if (!e.is_string()) bad(key, std::string("must be an array of strings, got an element of type ") + json_type_name(e));
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::string Section::path(const char* key, const std::string& def) {
  std::string s = str(key, def);
  if (has(key) && s.empty()) bad(key, "must not be empty");
  return s;
}

int64_t Section::integer(const char* key, int64_t def, int64_t min) {
  const json* v = find_as(key, [](const json& j) { return j.is_number_integer(); }, "an integer");
  if (!v) return def;
  // Compared before the conversion, which would wrap 2^64-1 to -1.
  if ((v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(kMaxCount)) ||
      (!v->is_number_unsigned() && v->get<int64_t>() > kMaxCount))
    bad(key, "must be <= " + std::to_string(kMaxCount) + ", got " + v->dump());
  const int64_t x = v->get<int64_t>();
  if (x < min) bad(key, "must be >= " + std::to_string(min) + ", got " + std::to_string(x));
  return x;
}

uint64_t Section::seed(const char* key, uint64_t def) {
  const json* v = find(key);
  if (!v) return def;
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0))
    bad(key, std::string("must be a non-negative integer, got ") + (v->is_number() ? v->dump() : json_type_name(*v)));
  return v->get<uint64_t>();
}

double Section::number(const char* key, double def) {
  const json* v = find_as(key, [](const json& j) { return j.is_number(); }, "a number");
  return v ? v->get<double>() : def;
}

std::optional<double> Section::optional_number(const char* key, std::optional<double> def) {
  const json* v = find_as(key, [](const json& j) { return j.is_number() || j.is_null(); }, "a number or null");
  if (!v) return def;
  if (v->is_null()) return std::nullopt;
  return v->get<double>();
}

bool Section::boolean(const char* key, bool def) {
  const json* v = find_as(key, [](const json& j) { return j.is_boolean(); }, "true or false");
  return v ? v->get<bool>() : def;
}

Section Section::section(const char* key) {
  const json* v = find(key);
  static const json empty = json::object();
  return Section(v ? *v : empty, f_, name(key), false);
}

std::string Section::unknown_key(const std::string& key) const {
  const std::string full = name(key.c_str());
  const std::string msg = f_->name + ": unknown key '" + full + "'";
  std::vector<std::string> known(seen_.begin(), seen_.end());
  if (f_->root) {
    for (const KeyName& k : key_names()) {
      const std::string hf = k.hf;
      if (full == hf && k.ours)
        return msg + " (" + k.origin + "'s name for '" + k.ours + "', which does not apply to this config)";
      if (full == hf) return msg + " (" + k.origin + "'s setting, not supported here: " + k.note + ")";
      // Their names that would sit in this object are known here too.
      const std::size_t dot = hf.rfind('.');
      if (prefix_.empty() ? dot == std::string::npos : dot == prefix_.size() && hf.starts_with(prefix_))
        known.push_back(hf.substr(prefix_.empty() ? 0 : dot + 1));
    }
  }
  const auto near = nearest_name(key, known);
  return msg + (near ? " (did you mean '" + name(near->c_str()) + "'?)" : "");
}

void Section::done() const {
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (!seen_.count(it.key()) && !f_->other_names_read.count(name(it.key().c_str())))
      f_->unknown.push_back(unknown_key(it.key()));
  if (!owner_ && !f_->reported) return;
  f_->reported = true;
  if (!f_->unknown.empty()) throw Error(join_lines(f_->unknown));
}

namespace {

PrecisionOptions read_precision(Section& s, uint64_t seed) {
  PrecisionOptions p;
  p.master_weights = s.boolean("master_weights", p.master_weights);
  p.rounding =
      s.choice("rounding", p.rounding, {{"nearest", Rounding::NearestEven}, {"stochastic", Rounding::Stochastic}});
  p.seed = seed;
  return p;
}

// The optimizer classes validate their own options; running that check here puts the file in the message.
template <class Opt, class Options>
void validate(const Options& o, const Section& opt) {
  try {
    Opt probe({}, o);
  } catch (const Error& e) {
    opt.error(std::string("optimizer: ") + e.what());
  }
}

json precision_json(const PrecisionOptions& p) {
  return {{"master_weights", p.master_weights},
          {"rounding", p.rounding == Rounding::Stochastic ? "stochastic" : "nearest"}};
}

}  // namespace

data::ChatTemplateKwargs read_chat_template_kwargs(Section& data_section) {
  const char* key = "chat_template_kwargs";
  const json* v = data_section.find_as(key, [](const json& j) { return j.is_object() || j.is_null(); }, "an object");
  if (!v || v->is_null()) return {};
  try {
    return data::ChatTemplateKwargs::from_json(*v, "'" + data_section.name(key) + "'");
  } catch (const Error& e) {
    data_section.error(e.what());
  }
}

ModelSource read_model_source(Section& model, const std::string& file) {
  ModelSource m;
  m.dir = model.path("dir");
  m.config = model.path("config");
  GT_CHECK(m.dir.empty() != m.config.empty(), file,
           ": 'model' needs exactly one of 'dir' (a Hugging Face folder) and 'config' (a config.json for random "
           "initialisation)");
  if (!m.config.empty()) {
    m.init_seed = model.seed("init_seed", m.init_seed);
    m.init_std = model.number("init_std", m.init_std);
    if (!(m.init_std > 0)) model.bad("init_std", "must be > 0");
  } else {
    for (const char* k : {"init_seed", "init_std"})
      if (model.has(k)) model.bad(k, "only applies to random initialisation ('model.config')");
  }
  m.storage = model.choice("storage", m.storage, kStorageNames);
  model.done();
  return m;
}

OptimizerConfig read_optimizer(Section& opt, double default_lr, uint64_t seed) {
  OptimizerConfig c;
  c.kind = opt.choice("name", c.kind, {{"adafactor", OptimizerKind::Adafactor}, {"adamw", OptimizerKind::AdamW}});
  if (c.kind == OptimizerKind::Adafactor) {
    AdafactorOptions& a = c.adafactor;
    a.lr = opt.optional_number("lr", default_lr);
    a.eps1 = opt.number("eps1", a.eps1);
    a.eps2 = opt.number("eps2", a.eps2);
    a.clip_threshold = opt.number("clip_threshold", a.clip_threshold);
    a.decay_rate = opt.number("decay_rate", a.decay_rate);
    a.beta1 = opt.optional_number("beta1", a.beta1);
    if (opt.given_as("beta1") == "adam_beta1")
      opt.bad("beta1", "sets AdamW's beta1, and optimizer.name is adafactor (whose beta1 is 'optimizer.beta1')");
    a.weight_decay = opt.number("weight_decay", a.weight_decay);
    a.scale_parameter = opt.boolean("scale_parameter", a.scale_parameter);
    a.relative_step = opt.boolean("relative_step", a.relative_step);
    a.warmup_init = opt.boolean("warmup_init", a.warmup_init);
    // transformers' relative_step takes lr None; an explicit null says so, a missing lr would mean the default.
    if (a.relative_step && !opt.has("lr")) a.lr.reset();
    a.precision = read_precision(opt, seed);
    opt.done();
    validate<Adafactor>(a, opt);
  } else {
    AdamWOptions& a = c.adamw;
    a.lr = opt.number("lr", default_lr);
    a.beta1 = opt.number("beta1", a.beta1);
    a.beta2 = opt.number("beta2", a.beta2);
    a.eps = opt.number("eps", a.eps);
    a.weight_decay = opt.number("weight_decay", a.weight_decay);
    a.amsgrad = opt.boolean("amsgrad", a.amsgrad);
    a.precision = read_precision(opt, seed);
    opt.done();
    validate<AdamW>(a, opt);
  }
  return c;
}

void read_schedule(Section& sched, const OptimizerConfig& opt, ScheduleKind& kind, int64_t& warmup_steps,
                   double& warmup_ratio) {
  kind = sched.choice("name", kind, kScheduleNames);
  warmup_steps = sched.integer("warmup_steps", warmup_steps, 0);
  warmup_ratio = sched.number("warmup_ratio", warmup_ratio);
  if (!(warmup_ratio >= 0 && warmup_ratio <= 1))
    sched.bad("warmup_ratio", "must be in [0, 1], got " + std::to_string(warmup_ratio));
  // transformers quietly prefers warmup_steps; two settings for one thing is more likely a mistake here.
  if (warmup_ratio > 0 && warmup_steps > 0)
    sched.error("give one of 'warmup_steps' and 'warmup_ratio', not both");
  sched.done();
  if (opt.kind == OptimizerKind::Adafactor && opt.adafactor.relative_step &&
      (kind != ScheduleKind::None || warmup_steps > 0 || warmup_ratio > 0))
    sched.error(
        "'schedule' must be none without warmup when 'optimizer.relative_step' is true (Adafactor then sets its "
        "own step size)");
}

json model_identity(const ModelSource& m) {
  json model = {{"storage", storage_name(m.storage)}};
  if (!m.config.empty()) model.update({{"init_seed", m.init_seed}, {"init_std", m.init_std}});
  return model;
}

json optimizer_json(const OptimizerConfig& c) {
  json o;
  if (c.kind == OptimizerKind::Adafactor) {
    const AdafactorOptions& a = c.adafactor;
    o = {{"name", "adafactor"},
         {"lr", a.lr ? json(*a.lr) : json(nullptr)},
         {"eps1", a.eps1},
         {"eps2", a.eps2},
         {"clip_threshold", a.clip_threshold},
         {"decay_rate", a.decay_rate},
         {"beta1", a.beta1 ? json(*a.beta1) : json(nullptr)},
         {"weight_decay", a.weight_decay},
         {"scale_parameter", a.scale_parameter},
         {"relative_step", a.relative_step},
         {"warmup_init", a.warmup_init}};
    o.update(precision_json(a.precision));
  } else {
    const AdamWOptions& a = c.adamw;
    o = {{"name", "adamw"},     {"lr", a.lr},   {"beta1", a.beta1},
         {"beta2", a.beta2},    {"eps", a.eps}, {"weight_decay", a.weight_decay},
         {"amsgrad", a.amsgrad}};
    o.update(precision_json(a.precision));
  }
  return o;
}

json read_config_file(const std::string& path, const char* what) {
  GT_CHECK(std::filesystem::exists(path), path, ": cannot open ", what);
  return is_yaml_path(path) ? read_yaml_file(path) : read_json_file(path);
}

}  // namespace gt::train

#include "train/config_reader.h"

#include <filesystem>

#include "base/json_file.h"

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

Section::Section(const json& j, std::string file, std::string prefix)
    : j_(j), file_(std::move(file)), prefix_(std::move(prefix)) {
  if (j.is_object()) return;
  if (prefix_.empty()) fail(file_, ": the config must be an object, got ", json_type_name(j));
  fail(file_, ": '", prefix_, "' must be an object, got ", json_type_name(j));
}

std::string Section::name(const char* key) const {
  std::string p = prefix_;
  if (!p.empty() && *key) p += ".";
  return p + key;
}

void Section::bad(const char* key, const std::string& why) const { fail(file_, ": '", name(key), "' ", why); }

void Section::require(const char* key) const {
  if (!j_.contains(key)) fail(file_, ": missing required key '", name(key), "'");
}

const json* Section::find(const char* key) {
  seen_.insert(key);
  auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
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
  return Section(v ? *v : empty, file_, name(key));
}

void Section::done() const {
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (!seen_.count(it.key())) fail(file_, ": unknown key '", name(it.key().c_str()), "'");
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
void validate(const Options& o, const std::string& file) {
  try {
    Opt probe({}, o);
  } catch (const Error& e) {
    fail(file, ": optimizer: ", e.what());
  }
}

json precision_json(const PrecisionOptions& p) {
  return {{"master_weights", p.master_weights},
          {"rounding", p.rounding == Rounding::Stochastic ? "stochastic" : "nearest"}};
}

}  // namespace

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

OptimizerConfig read_optimizer(Section& opt, double default_lr, uint64_t seed, const std::string& file) {
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
    a.weight_decay = opt.number("weight_decay", a.weight_decay);
    a.scale_parameter = opt.boolean("scale_parameter", a.scale_parameter);
    a.relative_step = opt.boolean("relative_step", a.relative_step);
    a.warmup_init = opt.boolean("warmup_init", a.warmup_init);
    // transformers' relative_step takes lr None; an explicit null says so, a missing lr would mean the default.
    if (a.relative_step && !opt.has("lr")) a.lr.reset();
    a.precision = read_precision(opt, seed);
    opt.done();
    validate<Adafactor>(a, file);
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
    validate<AdamW>(a, file);
  }
  return c;
}

void read_schedule(Section& sched, const OptimizerConfig& opt, ScheduleKind& kind, int64_t& warmup_steps,
                   const std::string& file) {
  kind = sched.choice("name", kind, kScheduleNames);
  warmup_steps = sched.integer("warmup_steps", warmup_steps, 0);
  sched.done();
  if (opt.kind == OptimizerKind::Adafactor && opt.adafactor.relative_step &&
      (kind != ScheduleKind::None || warmup_steps > 0))
    fail(file,
         ": 'schedule' must be none without warmup when 'optimizer.relative_step' is true (Adafactor then "
         "sets its own step size)");
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
  return read_json_file(path);
}

}  // namespace gt::train

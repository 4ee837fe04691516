#!/usr/bin/env python3
"""Golden chat renders for data/chat_format from a published Gemma 4 chat template, rendered with jinja2.

The template is not part of this repository (Google's templates are under the Gemma licence); pass the path of a
copy. The renderer in data/chat_format.cpp follows the later E2B revision (docs/chat.md §2 and §5: `<|think|>\\n`,
a generation prompt of only `<|turn>model\\n` with thinking off, an open thought channel after a tool response with
thinking on, reasoning re-emitted after the last user message or with preserve_thinking). Rendering an older
revision with this script gives strings the C++ renderer is not meant to match; that is how the differences between
revisions were found.

Differences seen between published revisions (E2B = the revision rendered here; LCT = llama.cpp
models/templates/gemma4.jinja at 75f1ba73 and a20c1a89; VTPL = vLLM examples/tool_chat_template_gemma4.jinja at
95ed3d75 and 03a5e855; the 26B/31B template has VTPL-03a5e855's shape):
  * thinking on: E2B and VTPL-03a5e855 write `<|think|>\n`; LCT and VTPL-95ed3d75 `<|think|>`.
  * generation prompt, thinking off: LCT, VTPL-03a5e855 and 26B/31B append an empty `<|channel>thought\n<channel|>`
    (LCT even after a tool response); E2B and VTPL-95ed3d75 do not.
  * after a tool response: E2B opens `<|channel>thought\n` when thinking is on; the others write nothing.
  * after tool calls with no result: E2B and VTPL-03a5e855 end the turn with `<|tool_response>`; the others close it.
  * reasoning: LCT never renders it; VTPL only on tool-calling steps after the last user message (95ed3d75 reads
    `reasoning` only); E2B on any message after the last user message, or on tool-calling steps with
    preserve_thinking.
  * tool results: LCT only as `tool_responses` on the assistant message; VTPL and E2B also as OpenAI `tool`
    messages (VTPL-95ed3d75 through a vLLM-only filter that parses JSON strings). E2B writes `<turn|>` after a
    result-only step when more messages follow (VTPL never does) and leaves it out between consecutive assistant
    messages (VTPL only leaves out the second `<|turn>model` header).
  * format_parameters: LCT and VTPL-95ed3d75 drop properties named like schema keys (description, type, ...),
    write `,properties:{`, `,required:[` and `,items:{` with a leading comma whatever came before, and nullable
    before enum; LCT-a20c1a89 reads a type list as its first non-null entry, LCT-75f1ba73 as its first entry;
    E2B and VTPL-03a5e855 filter schema keys only for objects without `properties` and place commas correctly.
  * format_argument: only E2B prints None as `null` (the others print `None`); E2B trims pre-serialized string
    arguments and strips their outer braces (the others paste them as they are).
  * unnamed results: E2B names them `unknown` also when the name is empty; content parts: image and video
    placeholders `\n\n<|image|>\n\n` (LCT, VTPL-95ed3d75) vs `<|image|>`.

The environment is the one transformers' apply_chat_template builds (a sandbox with trim_blocks and lstrip_blocks,
loopcontrols, raise_exception), so these strings are what the model's tokenizer would render.

Usage: python3 make_chat_fixtures.py TEMPLATE.jinja --out tests/fixtures/chat/golden.json
Needs only jinja2.
"""
import argparse
import copy
import hashlib
import json
import sys

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

WEATHER_TOOL = {  # docs/chat.md §3 renders this one; the script checks it renders the same here
    "type": "function",
    "function": {
        "name": "get_n_day_weather_forecast",
        "description": "Get an N-day weather forecast",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "format": {"type": "string", "enum": ["celsius", "fahrenheit"],
                           "description": "The temperature unit to use"},
                "num_days": {"type": "integer", "description": "The number of days to forecast"},
            },
            "required": ["location", "format", "num_days"],
        },
    },
}
WEATHER_SPEC = (
    "<bos><|turn>system\n<|tool>declaration:get_n_day_weather_forecast{description:<|\"|>Get an N-day weather "
    "forecast<|\"|>,parameters:{properties:{format:{description:<|\"|>The temperature unit to use<|\"|>,enum:[<|\"|>"
    "celsius<|\"|>,<|\"|>fahrenheit<|\"|>],type:<|\"|>STRING<|\"|>},location:{description:<|\"|>The city and state, "
    "e.g. San Francisco, CA<|\"|>,type:<|\"|>STRING<|\"|>},num_days:{description:<|\"|>The number of days to "
    "forecast<|\"|>,type:<|\"|>INTEGER<|\"|>}},required:[<|\"|>location<|\"|>,<|\"|>format<|\"|>,<|\"|>num_days<|\"|>"
    "],type:<|\"|>OBJECT<|\"|>}}<tool|><turn|>\n<|turn>user\nWeather in SF for 3 days?<turn|>\n<|turn>model\n")

# Every branch of format_parameters: nested objects with and without `properties`, arrays whose items carry
# properties/required/a type list/other keys, enums, nullable, missing and non-string descriptions, case-insensitive
# key order, a response declaration, and parameters without a `type` (the template then leaves `parameters:{`
# open, which is ported as is).
SCHEMA_TOOLS = [
    {"type": "function", "function": {
        "name": "book_trip",
        "description": "Book a trip with {braces} and \"quotes\"",
        "parameters": {
            "type": "object",
            "properties": {
                "Traveler": {"type": "object", "description": "Who travels",
                             "properties": {"name": {"type": "string"}, "age": {"type": "integer", "nullable": True}},
                             "required": ["name"]},
                "stops": {"type": "array", "description": "Cities in order",
                          "items": {"type": "object", "description": "One stop",
                                    "properties": {"city": {"type": "string", "description": "City"},
                                                   "nights": {"type": "number"}},
                                    "required": ["city"]}},
                "tags": {"type": "array", "items": {"type": ["string", "null"], "maxLength": 20,
                                                     "enum": ["a", "b"], "nested": {"Z": 1, "y": True}}},
                "class": {"type": "string", "enum": ["economy", "business"], "nullable": True},
                "budget": {"type": "number", "description": "Limit in EUR", "minimum": 0},
                "extras": {"type": "object", "description": "Free-form", "seat": {"type": "string"}},
                "flexible": {"type": "boolean", "nullable": True},
                "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
                "empty_items": {"type": "array", "items": {}},
                "a_note": {"type": "string", "description": ""},
            },
            "required": ["Traveler", "stops"],
        },
        "response": {"type": "object", "description": "The booking"},
    }},
    {"type": "function", "function": {
        "name": "ping",
        "description": "No arguments",
        "parameters": {"type": "object", "properties": {}},
    }},
    {"type": "function", "function": {
        "name": "untyped",
        "description": "Parameters without a type",
        "parameters": {"properties": {"x": {"type": "string"}}, "required": ["x"]},
        "response": {"type": "string", "description": "Not an object"},
    }},
]

ARG_EDGE_CASES = {
    "query": "a {brace} and \"quote\" and <angle> and a:colon, comma",
    "count": 3, "negative": -7, "ratio": 2.5, "tiny": 1e-05, "huge": 1e20, "whole": 100.0, "big": 1e15,
    "flag": True, "off": False, "missing": None,
    "nested": {"Inner": [1, "two", {"deep": None}], "alpha": {}},
    "list": [], "unicode": "Grüße, 東京 🌸",
    "B": "upper B sorts between a and c", "a": 1, "c": 2,
}


def tc(name, args, call_id=None):
    call = {"type": "function", "function": {"name": name, "arguments": args}}
    if call_id is not None:
        call["id"] = call_id
    return call


def conversations():
    c = []

    def add(name, messages, **kw):
        c.append(dict(name=name, messages=messages, **kw))

    add("user_only", [{"role": "user", "content": "Hi"}])
    add("system_and_user", [{"role": "system", "content": "  Be brief.\n"}, {"role": "user", "content": "\n Hi \t"}])
    add("thinking_on", [{"role": "user", "content": "Hi"}], enable_thinking=True)
    add("thinking_on_with_system", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        enable_thinking=True)
    add("developer_as_system_no_prompt",
        [{"role": "developer", "content": "Answer in French."}, {"role": "user", "content": "Hello"},
         {"role": "assistant", "content": "  Bonjour !  "}],
        add_generation_prompt=False)
    add("weather_tool_declaration", [{"role": "user", "content": "Weather in SF for 3 days?"}],
        tools=[WEATHER_TOOL])
    add("schema_edge_cases", [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Plan it"}],
        tools=SCHEMA_TOOLS, enable_thinking=True)
    add("tool_call_native_response",
        [{"role": "user", "content": "Weather in Paris?"},
         {"role": "assistant", "tool_calls": [tc("get_w", {"city": "Paris"})],
          "tool_responses": [{"name": "get_w", "response": {"value": "sunny", "temp_c": 21}}]}],
        tools=[WEATHER_TOOL])
    add("tool_call_openai_then_answer",
        [{"role": "user", "content": "Weather in Paris and Rome?"},
         {"role": "assistant", "content": "",
          "tool_calls": [tc("get_w", {"city": "Paris"}, "c1"), tc("get_w", {"city": "Rome"}, "c2")]},
         {"role": "tool", "tool_call_id": "c2", "content": "rain"},
         {"role": "tool", "tool_call_id": "c1", "name": "ignored", "content": 21.5},
         {"role": "assistant", "content": "Paris is clear, Rome has rain."},
         {"role": "user", "content": "Thanks"}])
    add("thinking_tool_response_opens_thought",
        [{"role": "system", "content": "You are a helper."}, {"role": "user", "content": "Weather in Paris?"},
         {"role": "assistant", "reasoning": "I should call the tool.", "tool_calls": [tc("get_w", {"city": "Paris"})]},
         {"role": "tool", "name": "get_w", "content": "sunny"}],
        tools=[WEATHER_TOOL], enable_thinking=True)
    add("multi_turn_earlier_thoughts_dropped",
        [{"role": "user", "content": "What is 2+2?"},
         {"role": "assistant", "reasoning": "Simple sum.",
          "content": "<|channel>thought\nadd them<channel|>4<|channel>thought\nsecond<channel|> exactly"},
         {"role": "user", "content": "And times 3?"},
         {"role": "assistant", "reasoning": "Use the calculator.", "tool_calls": [tc("calc", {"expr": "4*3"})]},
         {"role": "tool", "name": "calc", "content": 12},
         {"role": "assistant", "reasoning": "Twelve, after the tool.", "content": "12"}],
        enable_thinking=True, add_generation_prompt=False)
    add("preserve_thinking_keeps_tool_step_reasoning",
        [{"role": "user", "content": "Look it up"},
         {"role": "assistant", "reasoning": "Tool first.", "tool_calls": [tc("lookup", {"q": "x"})]},
         {"role": "tool", "name": "lookup", "content": "found"},
         {"role": "assistant", "reasoning": "Dropped: no tool call.", "content": "Found it."},
         {"role": "user", "content": "Again"}],
        enable_thinking=True, preserve_thinking=True)
    add("tool_call_awaiting_response",
        [{"role": "user", "content": "Search"},
         {"role": "assistant", "content": "Searching.", "tool_calls": [tc("search", ARG_EDGE_CASES)]}])
    add("multi_step_tool_loop",
        [{"role": "user", "content": "Do two steps"},
         {"role": "assistant", "tool_calls": [tc("step", {"n": 1}, "a")]},
         {"role": "tool", "tool_call_id": "a", "content": "one"},
         {"role": "assistant", "tool_calls": [tc("step", {"n": 2}, "b")]},
         {"role": "tool", "tool_call_id": "b", "content": True},
         {"role": "assistant", "content": "Done."}],
        add_generation_prompt=False)
    add("string_arguments_and_unknown_names",
        [{"role": "user", "content": "Go"},
         {"role": "assistant", "tool_calls": [tc("raw", '  {city:<|"|>Oslo<|"|>}  '), tc("raw2", "n:1"),
                                              tc("noargs", None)],
          "tool_responses": [{"name": "", "response": "ok"}, {"response": None}, {"name": "noargs",
                                                                                   "response": [True, 1.5]}]},
         {"role": "user", "content": "Next"}])
    # Jinja's trim is Python's str.strip(): Unicode spaces and \x1c-\x1f go too. An unclosed channel in assistant
    # content drops the rest of it.
    add("unicode_trim_and_unclosed_channel",
        [{"role": "system", "content": "\u3000Sys\u00a0"}, {"role": "user", "content": "\x1cHi\u2028 \u00e9"},
         {"role": "assistant", "content": " \u0085Ok\u205f<|channel>thought\nnever closed"}],
        add_generation_prompt=False)
    return c


PLAN_CANDIDATES = [
    {"pluginId": "plugin-1714851345", "name": "Nutrition BOT", "description": "Nutrition type stuff",
     "identifier": "rest_api", "method": "POST",
     "parameters": {"goal": {"type": "string", "required": True, "description": "Fitness goal"}}},
    {"pluginId": "plugin-2", "name": "Workout \"Pro\"", "description": "Plans workouts — weekly",
     "identifier": "rest_api", "method": "GET"},
]
PLAN_TARGET = {
    "thinking": "The user wants a nutrition plan.\nNutrition BOT fits.",
    "plan": {"plugins": [{"pluginId": "plugin-1714851345", "name": "Nutrition BOT",
                          "description": "Nutrition type stuff", "identifier": "rest_api", "method": "POST",
                          "api_request_parameters": {"goal": "muscle gain"}, "all_parameters_hydrated": True,
                          "dependencies": []}]},
}
DEFAULT_SYSTEM = ("You are an AI agent orchestrator. Given a user request and available plugins/tools, generate a "
                  "precise multi-step execution plan as a valid JSON object. Each step must use available plugins "
                  "with correct parameters, proper types, and valid JSON formatting.")


def plan_samples():
    return [
        {"id": "s-1", "category": "1_step", "candidates": PLAN_CANDIDATES,
         "messages": [{"role": "user", "content": "I want to improve my fitness routine"}], "target": PLAN_TARGET},
        {"id": "s-2", "category": "multi_turn", "system": "Plan carefully.", "candidates": PLAN_CANDIDATES[:1],
         "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! What goal?"},
                      {"role": "user", "content": "Muscle gain, please"}],
         "target": PLAN_TARGET},
    ]


def candidate_json(c):
    # docs/spec.md §1.1 key order; `parameters` with its keys sorted, as the C++ side stores JSON objects.
    out = {k: c[k] for k in ("pluginId", "name", "description", "identifier", "method")}
    if "parameters" in c:
        out["parameters"] = json.loads(json.dumps(c["parameters"], sort_keys=True))
    return out


def render_plan_sample(render, s):
    """docs/spec.md §1.2: the prompt from the template (thinking on), then the target appended as plain text."""
    cands = json.dumps([candidate_json(c) for c in s["candidates"]], indent=2, ensure_ascii=False)
    messages = [{"role": "system", "content": s.get("system", DEFAULT_SYSTEM)}] + copy.deepcopy(s["messages"])
    messages[-1]["content"] = ("YOUR TASK IS TO GENERATE A JSON STRICTLY and CORRECTLY\n" + cands +
                               "\n\nUser Request: " + messages[-1]["content"])
    prompt = render(messages=messages, enable_thinking=True, add_generation_prompt=True)
    t = s["target"]
    plan = json.dumps(t["plan"], separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return prompt, "<|channel>thought\n" + t["thinking"] + "<channel|>" + plan + "<turn|>"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("template", help="a Gemma 4 chat_template.jinja")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.template, encoding="utf-8") as f:
        source = f.read()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(source)

    def render(messages, tools=None, **kw):
        return template.render(messages=messages, tools=tools, bos_token="<bos>", eos_token="<eos>", **kw)

    # docs/chat.md §2/§3 renders, which tell the E2B revision from the older and the 26B/31B ones.
    hi = [{"role": "user", "content": "Hi"}]
    checks = [
        (render(hi, add_generation_prompt=True), "<bos><|turn>user\nHi<turn|>\n<|turn>model\n"),
        (render(hi, add_generation_prompt=True, enable_thinking=True),
         "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n"),
        (render([{"role": "user", "content": "Weather in SF for 3 days?"}], tools=[WEATHER_TOOL],
                add_generation_prompt=True), WEATHER_SPEC),
    ]
    for got, want in checks:
        if got != want:
            sys.exit(f"not the E2B revision of docs/chat.md §2/§3:\n got  {got!r}\n want {want!r}")

    out = {"generator": "tests/golden/make_chat_fixtures.py", "jinja2": jinja2.__version__,
           "template_sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(), "conversations": [],
           "plan_samples": []}
    for conv in conversations():
        kw = {k: conv[k] for k in ("enable_thinking", "preserve_thinking") if k in conv}
        agp = conv.get("add_generation_prompt", True)
        conv["add_generation_prompt"] = agp
        conv["rendered"] = render(copy.deepcopy(conv["messages"]), tools=conv.get("tools"),
                                  add_generation_prompt=agp, **kw)
        out["conversations"].append(conv)
    for s in plan_samples():
        prompt, target = render_plan_sample(render, s)
        out["plan_samples"].append({"sample": s, "prompt": prompt, "target": target})
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(out['conversations'])} conversations, {len(out['plan_samples'])} plan samples -> {args.out}")


if __name__ == "__main__":
    main()

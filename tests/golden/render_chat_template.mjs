// Renders conversations with a chat template through @huggingface/jinja, the JavaScript Jinja of the Hub's chat
// tooling, as transformers' apply_chat_template calls a template (messages, tools, add_generation_prompt,
// enable_thinking and bos_token; @huggingface/jinja strips blocks as transformers' trim_blocks and lstrip_blocks do).
//
// Usage: node render_chat_template.mjs JINJA_PACKAGE_DIR TEMPLATE.jinja CONVERSATIONS.json
// CONVERSATIONS.json is {"conversations": [{"name", "messages", "tools"?, "enable_thinking"?,
// "add_generation_prompt"}]} (tests/fixtures/chat/jinja_conversations.json); prints a JSON array of the renders in
// that order. The template is not part of the repository (it is under the Gemma licence).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, templatePath, inputPath] = process.argv.slice(2);
if (!inputPath) {
  console.error("usage: node render_chat_template.mjs JINJA_PACKAGE_DIR TEMPLATE.jinja CONVERSATIONS.json");
  process.exit(2);
}
const { Template } = await import(pathToFileURL(join(packageDir, "dist", "index.js")).href);
const template = new Template(readFileSync(templatePath, "utf8"));
const { conversations } = JSON.parse(readFileSync(inputPath, "utf8"));
const renders = conversations.map((c) => {
  const context = {
    messages: c.messages,
    add_generation_prompt: c.add_generation_prompt ?? false,
    bos_token: "<bos>",
    enable_thinking: c.enable_thinking ?? false,
  };
  if (c.tools) context.tools = c.tools;
  return template.render(context);
});
process.stdout.write(JSON.stringify(renders) + "\n");

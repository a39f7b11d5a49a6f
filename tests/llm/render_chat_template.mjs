// Renders a model's real Jinja chat template with @huggingface/jinja (the
// implementation transformers.js uses), for one optional system message and
// one user message with add_generation_prompt, BOS left out, and the Llama
// templates' default date (the template uses today's when it can).
//   node render_chat_template.mjs TEMPLATE.jinja SYSTEM USER
import fs from 'node:fs';

const npm = new URL('../../third_party/npm/node_modules/', import.meta.url);
const { Template } = await import(new URL('@huggingface/jinja/dist/index.js', npm));

const [templatePath, system, user] = process.argv.slice(2);
const messages = [];
if (system) messages.push({ role: 'system', content: system });
messages.push({ role: 'user', content: user });
const template = new Template(fs.readFileSync(templatePath, 'utf8'));
process.stdout.write(template.render({ messages, add_generation_prompt: true, bos_token: '',
                                          date_string: '26 Jul 2024' }));

// Writes the chat 2025-03-15 contract as OpenAPI 2.0, built from what @azure/communication-chat
// (pinned in package.json) was generated with: each operation's spec (path, method, query and
// body parameters, responses), caught by calling every operation of the SDK's generated client
// with a stand-in sendOperationRequest, and each model's mapper. Output on stdout; the committed
// copy is docs/openapi/chat-2025-03-15.json (tests/integration/test_chat_openapi.py keeps the two
// equal). Run: node tests/js/chat-openapi.mjs > docs/openapi/chat-2025-03-15.json
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const root = dirname(require.resolve("@azure/communication-chat/package.json"));
const generated = (path) => import(pathToFileURL(join(root, "dist/esm/generated/src", path)).href);
const { ChatApiClient } = await generated("chatApiClient.js");
const Mappers = await generated("models/mappers.js");
const { version } = require("@azure/communication-chat/package.json");

const client = new ChatApiClient("https://endpoint", {});
const caught = [];
client.sendOperationRequest = async (_args, spec) => {
  caught.push(spec);
  return {};
};
const id = "19:x@thread.v2";
await client.chat.createChatThread({ topic: "t" });
await client.chat.listChatThreads();
await client.chat.deleteChatThread(id);
await client.chatThread.listChatReadReceipts(id);
await client.chatThread.sendChatReadReceipt(id, { chatMessageId: "1" });
await client.chatThread.sendChatMessage(id, { content: "c" });
await client.chatThread.listChatMessages(id);
await client.chatThread.getChatMessage(id, "1");
await client.chatThread.updateChatMessage(id, "1", {});
await client.chatThread.deleteChatMessage(id, "1");
await client.chatThread.listChatParticipants(id);
await client.chatThread.removeChatParticipant(id, { rawId: "8:acs:x" });
await client.chatThread.addChatParticipants(id, { participants: [] });
await client.chatThread.updateChatThreadProperties(id, {});
await client.chatThread.getChatThreadProperties(id);
await client.chatThread.sendTypingNotification(id);

const definitions = {};
const ref = (className) => {
  define(className);
  return { $ref: `#/definitions/${className}` };
};

function schemaOf(type) {
  switch (type.name) {
    case "String":
      return { type: "string" };
    case "Number":
      return { type: "integer", format: "int32" };
    case "Boolean":
      return { type: "boolean" };
    case "DateTime":
      return { type: "string", format: "date-time" };
    case "Enum":
      return { type: "string", enum: type.allowedValues };
    case "Sequence":
      return { type: "array", items: schemaOf(type.element.type) };
    case "Dictionary":
      return { type: "object", additionalProperties: schemaOf(type.value.type) };
    case "Composite":
      return ref(type.className);
    default:
      throw new Error(`no OpenAPI type for mapper type ${type.name}`);
  }
}

function define(className) {
  if (definitions[className]) return;
  const mapper = Mappers[className];
  if (!mapper) throw new Error(`no mapper ${className}`);
  const schema = (definitions[className] = { type: "object", properties: {} });
  const required = [];
  for (const [, property] of Object.entries(mapper.type.modelProperties ?? {})) {
    const out = schemaOf(property.type);
    if (property.readOnly) out.readOnly = true;
    schema.properties[property.serializedName] = out;
    if (property.required) required.push(property.serializedName);
  }
  if (required.length) schema.required = required.sort();
  const discriminator = mapper.type.polymorphicDiscriminator;
  if (discriminator && mapper.type.uberParent === className) {
    schema.discriminator = discriminator.serializedName;
    for (const [key, subtype] of Object.entries(Mappers.discriminators)) {
      if (key.startsWith(`${className}.`)) define(subtype.type.className);
    }
  } else if (mapper.type.uberParent && mapper.type.uberParent !== className) {
    schema["x-ms-discriminator-value"] = mapper.serializedName;
    schema.allOf = [ref(mapper.type.uberParent)];
    delete schema.properties.kind; // the parent's
    schema.required = (schema.required ?? []).filter((name) => name !== "kind");
    if (!schema.required.length) delete schema.required;
  }
}

function parameterOf(parameter, place) {
  const name = parameter.mapper.serializedName ?? String(parameter.parameterPath);
  // api-version: optional to the SDK (it has a default), required by the service
  const required = Boolean(parameter.mapper.required) || name === "api-version";
  const out = { in: place, name, required };
  if (place === "body") return { ...out, schema: schemaOf(parameter.mapper.type) };
  return { ...out, ...schemaOf(parameter.mapper.type) };
}

const paths = {};
for (const spec of caught) {
  const parameters = [
    ...(spec.urlParameters ?? [])
      .filter((p) => p.parameterPath !== "endpoint")
      .map((p) => parameterOf(p, "path")),
    ...(spec.queryParameters ?? []).map((p) => parameterOf(p, "query")),
    ...(spec.headerParameters ?? [])
      .filter((p) => !["accept", "content-type"].includes(p.mapper.serializedName.toLowerCase()))
      .map((p) => parameterOf(p, "header")),
  ];
  if (spec.requestBody) parameters.push(parameterOf(spec.requestBody, "body"));
  const responses = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    responses[status] = { description: response.isError ? "Error." : "Success." };
    if (response.bodyMapper) responses[status].schema = schemaOf(response.bodyMapper.type);
    if (response.isError) responses[status]["x-ms-error-response"] = true;
  }
  const method = spec.httpMethod.toLowerCase();
  paths[spec.path] ??= {};
  paths[spec.path][method] = { parameters, responses };
}

const sorted = (object) => Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : 1)));
const document = {
  swagger: "2.0",
  info: {
    title: "Azure Communication Chat Service (as @azure/communication-chat sees it)",
    version: client.apiVersion,
    description:
      `Built by tests/js/chat-openapi.mjs from the generated client of @azure/communication-chat ` +
      `${version} (npm, MIT): operation specs caught from its ChatApiClient and models from its ` +
      `mappers. Not Microsoft's file: Microsoft's is ` +
      `specification/communication/data-plane/Chat/stable/2025-03-15 in Azure/azure-rest-api-specs.`,
  },
  consumes: ["application/json", "application/merge-patch+json"],
  produces: ["application/json"],
  paths: sorted(paths),
  definitions: sorted(definitions),
};
process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);

// Stands in for @azure/communication-calling (closed source, under Microsoft's EULA: never a
// dependency of ours). The UI library imports it for its calling composites; this sample uses
// only the chat ones, so every name it imports exists and none of them works.
const unavailable = (name) =>
  class {
    constructor() {
      throw new Error(`${name} needs @azure/communication-calling, which this app does not ship`);
    }
  };
export const CallClient = unavailable("CallClient");
export const LocalVideoStream = unavailable("LocalVideoStream");
export const VideoStreamRenderer = unavailable("VideoStreamRenderer");
export const BackgroundBlurEffect = unavailable("BackgroundBlurEffect");
export const BackgroundReplacementEffect = unavailable("BackgroundReplacementEffect");
export const DeepNoiseSuppressionEffect = unavailable("DeepNoiseSuppressionEffect");
// The enum's values as the calling SDK's type declarations give them.
export const DiagnosticQuality = { Good: 1, Poor: 2, Bad: 3 };
export const Features = new Proxy({}, { get: (_, name) => String(name) });
export default {};

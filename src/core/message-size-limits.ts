// Default caps on the size of one gRPC message, as the upstream Silo TypeScript client sets them
// (typescript_client/src/client.ts, grpc.max_receive_message_length and max_send: 128 MiB each). A response over the receive cap fails as
// soon as its declared length or its bytes cross it, before anything past the cap is buffered.

/** Default `maxReceiveMessageBytes`: 128 MiB. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 128 * 1024 * 1024;

/** Default cap on one request message: 128 MiB, checked before anything is sent. */
export const DEFAULT_MAX_SEND_MESSAGE_BYTES = 128 * 1024 * 1024;

// Development only: the independent SigV4 signer the fakes verify requests with (production signs
// with aws4fetch); kept out of deno.json so the server's install skips it.
export { SignatureV4 } from "npm:@smithy/signature-v4@^5.7.5";
export { Sha256 } from "npm:@aws-crypto/sha256-js@^5.2.0";

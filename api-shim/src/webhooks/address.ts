// The address table webhooks are checked against is shared with the operator: crds egress-address.ts.
export * from "@reel/crds/egress-address";

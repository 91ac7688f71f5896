import { Octokit } from "@octokit/core";
import { restEndpointMethods } from "@octokit/plugin-rest-endpoint-methods";

const TestOctokit = Octokit.plugin(restEndpointMethods);

/** The Octokit shape Probot hands out (core + REST methods), with no retry or throttling plugin. */
export type GitHubOctokit = InstanceType<typeof TestOctokit>;

/** An Octokit for tests against {@link githubApi}: token auth, no retries, no throttling. */
export function testOctokit(): GitHubOctokit {
  return new TestOctokit({ auth: "test-token" });
}

import type { Probot } from "probot";

/** Every webhook event name GitHub sends, as the @octokit/webhooks under Probot knows them. */
type GitHubEventName = Exclude<Extract<Parameters<Probot["on"]>[0], string>, `${string}.${string}`>;

/*
 * The `x-github-event` header picks the listeners @octokit/webhooks calls by plain property
 * lookup: `__proto__` found Object.prototype and answered 500 "handler is not a function", and
 * `error` would reach the error handlers (issue 11, class 6). Only these names are let in. The
 * `satisfies` keeps the list equal to the names of the @octokit/webhooks in use: a name GitHub
 * adds in a later version is a compile error here until it is listed.
 */
const NAMES = {
  branch_protection_configuration: true,
  branch_protection_rule: true,
  check_run: true,
  check_suite: true,
  code_scanning_alert: true,
  commit_comment: true,
  create: true,
  custom_property: true,
  custom_property_values: true,
  delete: true,
  dependabot_alert: true,
  deploy_key: true,
  deployment: true,
  deployment_protection_rule: true,
  deployment_review: true,
  deployment_status: true,
  discussion: true,
  discussion_comment: true,
  fork: true,
  github_app_authorization: true,
  gollum: true,
  installation: true,
  installation_repositories: true,
  installation_target: true,
  issue_comment: true,
  issue_dependencies: true,
  issues: true,
  label: true,
  marketplace_purchase: true,
  member: true,
  membership: true,
  merge_group: true,
  meta: true,
  milestone: true,
  org_block: true,
  organization: true,
  package: true,
  page_build: true,
  personal_access_token_request: true,
  project: true,
  project_card: true,
  project_column: true,
  projects_v2: true,
  projects_v2_item: true,
  projects_v2_status_update: true,
  public: true,
  ping: true,
  pull_request: true,
  pull_request_review: true,
  pull_request_review_comment: true,
  pull_request_review_thread: true,
  push: true,
  registry_package: true,
  release: true,
  repository: true,
  repository_advisory: true,
  repository_dispatch: true,
  repository_import: true,
  repository_ruleset: true,
  repository_vulnerability_alert: true,
  secret_scanning_alert: true,
  secret_scanning_alert_location: true,
  secret_scanning_scan: true,
  security_advisory: true,
  security_and_analysis: true,
  sponsorship: true,
  star: true,
  status: true,
  sub_issues: true,
  team: true,
  team_add: true,
  watch: true,
  workflow_dispatch: true,
  workflow_job: true,
  workflow_run: true,
} as const satisfies Record<GitHubEventName, true>;

/** Whether `name` is a webhook event GitHub sends (`issues`, `ping`...), not any other string. */
export function isGitHubEventName(name: string): boolean {
  return Object.hasOwn(NAMES, name);
}

/// How a person signs in for the AWS profile in use, when it is one that needs a sign-in now and then:
/// IAM Identity Center (`aws sso login`) or console credentials (`aws login`). What `contenox login` runs,
/// and what an ACP client's terminal sign-in runs through it.
public enum AWSSignIn {
    /// The AWS CLI command that signs in the selected profile (`AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, else
    /// `default`), or `profile` when given; nil for a profile that signs in with keys, a role or a process.
    public static func command(environment: [String: String], profile: String? = nil) -> [String]? {
        let name = profileName(environment: environment, profile: profile)
        guard let settings = AWSSharedProfiles.load(environment: environment).profiles[name] else { return nil }
        if settings["sso_session"] != nil || settings["sso_start_url"] != nil {
            return ["aws", "sso", "login", "--profile", name]
        }
        if settings["login_session"] != nil { return ["aws", "login", "--profile", name] }
        return nil
    }

    /// The profile a sign-in is for: `profile`, else the one the SDKs select (`AWS_PROFILE`,
    /// `AWS_DEFAULT_PROFILE`, else `default`).
    public static func profileName(environment: [String: String], profile: String? = nil) -> String {
        profile ?? AWSSharedProfiles.selectedProfile(environment: environment).name
    }
}

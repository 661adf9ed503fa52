//! The iam slice's one error type, [`IamError`], and its one mapping to HTTP.
//!
//! The auth API speaks better-auth's error shape (`specs/better-auth-api.md` §1.5), not the
//! runtime's `{code, message}` envelope: `{"message": …, "code": …}` with the status each
//! endpoint documents, a few code-less messages, a few empty-body statuses, and an empty 500 for
//! anything unexpected (details go to the log, never to the client). A database that cannot be
//! used right now (issue 20) is a 503 with `Retry-After`, not a 500: the outage is logged once
//! where it is detected, not per request.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shared_server::mail::MailError;
use shared_server::RepoError;

/// The machine codes of better-auth's core error table (§1.5) and of the organization plugin
/// (§7.9), with their default messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    UserNotFound,
    FailedToCreateUser,
    FailedToCreateSession,
    FailedToUpdateUser,
    FailedToGetSession,
    InvalidPassword,
    InvalidEmail,
    InvalidEmailOrPassword,
    InvalidUser,
    InvalidToken,
    TokenExpired,
    EmailNotVerified,
    PasswordTooShort,
    PasswordTooLong,
    UserAlreadyExists,
    UserAlreadyExistsUseAnotherEmail,
    EmailCanNotBeUpdated,
    ChangeEmailDisabled,
    CredentialAccountNotFound,
    SessionExpired,
    SessionNotFresh,
    AccountNotFound,
    CrossSiteNavigationLoginBlocked,
    VerificationEmailNotEnabled,
    EmailAlreadyVerified,
    EmailMismatch,
    InvalidOrigin,
    InvalidCallbackUrl,
    InvalidRedirectUrl,
    InvalidErrorCallbackUrl,
    InvalidNewUserCallbackUrl,
    MissingOrNullOrigin,
    FieldNotAllowed,
    ValidationError,
    MissingField,
    MethodNotAllowedDeferSessionRequired,
    BodyMustBeAnObject,
    Unauthorized,
    ResetPasswordDisabled,
    UnsupportedMediaType,
    BadRequest,
    FailedToGetUserInfo,
    // organization plugin (better-auth-api.md §7.9)
    YouAreNotAllowedToCreateANewOrganization,
    YouHaveReachedTheMaximumNumberOfOrganizations,
    OrganizationAlreadyExists,
    OrganizationSlugAlreadyTaken,
    OrganizationNotFound,
    UserIsNotAMemberOfTheOrganization,
    YouAreNotAllowedToUpdateThisOrganization,
    YouAreNotAllowedToDeleteThisOrganization,
    NoActiveOrganization,
    UserIsAlreadyAMemberOfThisOrganization,
    MemberNotFound,
    RoleNotFound,
    YouAreNotAllowedToCreateANewTeam,
    TeamAlreadyExists,
    TeamNotFound,
    YouCannotLeaveTheOrganizationAsTheOnlyOwner,
    YouCannotLeaveTheOrganizationWithoutAnOwner,
    YouAreNotAllowedToDeleteThisMember,
    YouAreNotAllowedToInviteUsersToThisOrganization,
    UserIsAlreadyInvitedToThisOrganization,
    InvitationNotFound,
    YouAreNotTheRecipientOfTheInvitation,
    EmailVerificationRequiredBeforeAcceptingOrRejectingInvitation,
    EmailVerificationRequiredForInvitation,
    YouAreNotAllowedToCancelThisInvitation,
    InviterIsNoLongerAMemberOfTheOrganization,
    YouAreNotAllowedToInviteUserWithThisRole,
    FailedToRetrieveInvitation,
    YouHaveReachedTheMaximumNumberOfTeams,
    UnableToRemoveLastTeam,
    YouAreNotAllowedToUpdateThisMember,
    OrganizationMembershipLimitReached,
    YouAreNotAllowedToCreateTeamsInThisOrganization,
    YouAreNotAllowedToDeleteTeamsInThisOrganization,
    YouAreNotAllowedToUpdateThisTeam,
    YouAreNotAllowedToDeleteThisTeam,
    InvitationLimitReached,
    TeamMemberLimitReached,
    UserIsNotAMemberOfTheTeam,
    YouCanNotAccessTheMembersOfThisTeam,
    YouDoNotHaveAnActiveTeam,
    YouAreNotAllowedToCreateANewTeamMember,
    YouAreNotAllowedToRemoveATeamMember,
    YouAreNotAllowedToAccessThisOrganization,
    YouAreNotAMemberOfThisOrganization,
    InvalidTeamId,
    YouAreNotAllowedToListInvitations,
    // api-key plugin (better-auth-api.md §8.8)
    InvalidMetadataType,
    RefillAmountAndIntervalRequired,
    RefillIntervalAndAmountRequired,
    UserBanned,
    UnauthorizedSession,
    KeyNotFound,
    KeyDisabled,
    KeyExpired,
    UsageExceeded,
    KeyNotRecoverable,
    ExpiresInIsTooSmall,
    ExpiresInIsTooLarge,
    InvalidRemaining,
    InvalidPrefixLength,
    InvalidNameLength,
    MetadataDisabled,
    RateLimitExceeded,
    RateLimited,
    NoValuesToUpdate,
    KeyDisabledExpiration,
    InvalidApiKey,
    InvalidUserIdFromApiKey,
    InvalidReferenceIdFromApiKey,
    InvalidApiKeyGetterReturnType,
    ServerOnlyProperty,
    FailedToUpdateApiKey,
    NameRequired,
    OrganizationIdRequired,
    UserNotMemberOfOrganization,
    InsufficientApiKeyPermissions,
    NoDefaultApiKeyConfigurationFound,
    OrganizationPluginRequired,
    // username plugin (PLUGINS.md)
    InvalidUsernameOrPassword,
    UsernameIsAlreadyTaken,
    UsernameTooShort,
    UsernameTooLong,
    InvalidUsername,
    InvalidDisplayUsername,
    UsernameIsImmutable,
    // two-factor plugin (PLUGINS.md)
    OtpNotEnabled,
    OtpNotConfigured,
    OtpHasExpired,
    TotpNotEnabled,
    TotpAlreadyEnabled,
    TotpNotConfigured,
    TwoFactorNotEnabled,
    BackupCodesNotEnabled,
    InvalidBackupCode,
    InvalidCode,
    TooManyAttemptsRequestNewCode,
    AccountTemporarilyLocked,
    InvalidTwoFactorCookie,
    // anonymous plugin (PLUGINS.md)
    AnonymousUsersCannotSignInAgainAnonymously,
    UserIsNotAnonymous,
    DeleteAnonymousUserDisabled,
    // multi-session plugin (PLUGINS.md)
    InvalidSessionToken,
}

impl ErrorCode {
    pub fn as_str(&self) -> &'static str {
        use ErrorCode::*;
        match self {
            UserNotFound => "USER_NOT_FOUND",
            FailedToCreateUser => "FAILED_TO_CREATE_USER",
            FailedToCreateSession => "FAILED_TO_CREATE_SESSION",
            FailedToUpdateUser => "FAILED_TO_UPDATE_USER",
            FailedToGetSession => "FAILED_TO_GET_SESSION",
            InvalidPassword => "INVALID_PASSWORD",
            InvalidEmail => "INVALID_EMAIL",
            InvalidEmailOrPassword => "INVALID_EMAIL_OR_PASSWORD",
            InvalidUser => "INVALID_USER",
            InvalidToken => "INVALID_TOKEN",
            TokenExpired => "TOKEN_EXPIRED",
            EmailNotVerified => "EMAIL_NOT_VERIFIED",
            PasswordTooShort => "PASSWORD_TOO_SHORT",
            PasswordTooLong => "PASSWORD_TOO_LONG",
            UserAlreadyExists => "USER_ALREADY_EXISTS",
            UserAlreadyExistsUseAnotherEmail => "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
            EmailCanNotBeUpdated => "EMAIL_CAN_NOT_BE_UPDATED",
            ChangeEmailDisabled => "CHANGE_EMAIL_DISABLED",
            CredentialAccountNotFound => "CREDENTIAL_ACCOUNT_NOT_FOUND",
            SessionExpired => "SESSION_EXPIRED",
            SessionNotFresh => "SESSION_NOT_FRESH",
            AccountNotFound => "ACCOUNT_NOT_FOUND",
            CrossSiteNavigationLoginBlocked => "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED",
            VerificationEmailNotEnabled => "VERIFICATION_EMAIL_NOT_ENABLED",
            EmailAlreadyVerified => "EMAIL_ALREADY_VERIFIED",
            EmailMismatch => "EMAIL_MISMATCH",
            InvalidOrigin => "INVALID_ORIGIN",
            InvalidCallbackUrl => "INVALID_CALLBACK_URL",
            InvalidRedirectUrl => "INVALID_REDIRECT_URL",
            InvalidErrorCallbackUrl => "INVALID_ERROR_CALLBACK_URL",
            InvalidNewUserCallbackUrl => "INVALID_NEW_USER_CALLBACK_URL",
            MissingOrNullOrigin => "MISSING_OR_NULL_ORIGIN",
            FieldNotAllowed => "FIELD_NOT_ALLOWED",
            ValidationError => "VALIDATION_ERROR",
            MissingField => "MISSING_FIELD",
            MethodNotAllowedDeferSessionRequired => "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED",
            BodyMustBeAnObject => "BODY_MUST_BE_AN_OBJECT",
            Unauthorized => "UNAUTHORIZED",
            ResetPasswordDisabled => "RESET_PASSWORD_DISABLED",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            BadRequest => "BAD_REQUEST",
            FailedToGetUserInfo => "FAILED_TO_GET_USER_INFO",
            // organization plugin (better-auth-api.md §7.9)
            YouAreNotAllowedToCreateANewOrganization => {
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION"
            }
            YouHaveReachedTheMaximumNumberOfOrganizations => {
                "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS"
            }
            OrganizationAlreadyExists => "ORGANIZATION_ALREADY_EXISTS",
            OrganizationSlugAlreadyTaken => "ORGANIZATION_SLUG_ALREADY_TAKEN",
            OrganizationNotFound => "ORGANIZATION_NOT_FOUND",
            UserIsNotAMemberOfTheOrganization => "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
            YouAreNotAllowedToUpdateThisOrganization => {
                "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION"
            }
            YouAreNotAllowedToDeleteThisOrganization => {
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION"
            }
            NoActiveOrganization => "NO_ACTIVE_ORGANIZATION",
            UserIsAlreadyAMemberOfThisOrganization => {
                "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION"
            }
            MemberNotFound => "MEMBER_NOT_FOUND",
            RoleNotFound => "ROLE_NOT_FOUND",
            YouAreNotAllowedToCreateANewTeam => "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM",
            TeamAlreadyExists => "TEAM_ALREADY_EXISTS",
            TeamNotFound => "TEAM_NOT_FOUND",
            YouCannotLeaveTheOrganizationAsTheOnlyOwner => {
                "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER"
            }
            YouCannotLeaveTheOrganizationWithoutAnOwner => {
                "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER"
            }
            YouAreNotAllowedToDeleteThisMember => "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER",
            YouAreNotAllowedToInviteUsersToThisOrganization => {
                "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION"
            }
            UserIsAlreadyInvitedToThisOrganization => {
                "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION"
            }
            InvitationNotFound => "INVITATION_NOT_FOUND",
            YouAreNotTheRecipientOfTheInvitation => "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
            EmailVerificationRequiredBeforeAcceptingOrRejectingInvitation => {
                "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION"
            }
            EmailVerificationRequiredForInvitation => "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION",
            YouAreNotAllowedToCancelThisInvitation => {
                "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION"
            }
            InviterIsNoLongerAMemberOfTheOrganization => {
                "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION"
            }
            YouAreNotAllowedToInviteUserWithThisRole => {
                "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE"
            }
            FailedToRetrieveInvitation => "FAILED_TO_RETRIEVE_INVITATION",
            YouHaveReachedTheMaximumNumberOfTeams => "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS",
            UnableToRemoveLastTeam => "UNABLE_TO_REMOVE_LAST_TEAM",
            YouAreNotAllowedToUpdateThisMember => "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
            OrganizationMembershipLimitReached => "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED",
            YouAreNotAllowedToCreateTeamsInThisOrganization => {
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_TEAMS_IN_THIS_ORGANIZATION"
            }
            YouAreNotAllowedToDeleteTeamsInThisOrganization => {
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_TEAMS_IN_THIS_ORGANIZATION"
            }
            YouAreNotAllowedToUpdateThisTeam => "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM",
            YouAreNotAllowedToDeleteThisTeam => "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM",
            InvitationLimitReached => "INVITATION_LIMIT_REACHED",
            TeamMemberLimitReached => "TEAM_MEMBER_LIMIT_REACHED",
            UserIsNotAMemberOfTheTeam => "USER_IS_NOT_A_MEMBER_OF_THE_TEAM",
            YouCanNotAccessTheMembersOfThisTeam => "YOU_CAN_NOT_ACCESS_THE_MEMBERS_OF_THIS_TEAM",
            YouDoNotHaveAnActiveTeam => "YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM",
            YouAreNotAllowedToCreateANewTeamMember => {
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER"
            }
            YouAreNotAllowedToRemoveATeamMember => "YOU_ARE_NOT_ALLOWED_TO_REMOVE_A_TEAM_MEMBER",
            YouAreNotAllowedToAccessThisOrganization => {
                "YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION"
            }
            YouAreNotAMemberOfThisOrganization => "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION",
            InvalidTeamId => "INVALID_TEAM_ID",
            YouAreNotAllowedToListInvitations => "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS",
            // api-key plugin (better-auth-api.md §8.8)
            InvalidMetadataType => "INVALID_METADATA_TYPE",
            RefillAmountAndIntervalRequired => "REFILL_AMOUNT_AND_INTERVAL_REQUIRED",
            RefillIntervalAndAmountRequired => "REFILL_INTERVAL_AND_AMOUNT_REQUIRED",
            UserBanned => "USER_BANNED",
            UnauthorizedSession => "UNAUTHORIZED_SESSION",
            KeyNotFound => "KEY_NOT_FOUND",
            KeyDisabled => "KEY_DISABLED",
            KeyExpired => "KEY_EXPIRED",
            UsageExceeded => "USAGE_EXCEEDED",
            KeyNotRecoverable => "KEY_NOT_RECOVERABLE",
            ExpiresInIsTooSmall => "EXPIRES_IN_IS_TOO_SMALL",
            ExpiresInIsTooLarge => "EXPIRES_IN_IS_TOO_LARGE",
            InvalidRemaining => "INVALID_REMAINING",
            InvalidPrefixLength => "INVALID_PREFIX_LENGTH",
            InvalidNameLength => "INVALID_NAME_LENGTH",
            MetadataDisabled => "METADATA_DISABLED",
            RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            RateLimited => "RATE_LIMITED",
            NoValuesToUpdate => "NO_VALUES_TO_UPDATE",
            KeyDisabledExpiration => "KEY_DISABLED_EXPIRATION",
            InvalidApiKey => "INVALID_API_KEY",
            InvalidUserIdFromApiKey => "INVALID_USER_ID_FROM_API_KEY",
            InvalidReferenceIdFromApiKey => "INVALID_REFERENCE_ID_FROM_API_KEY",
            InvalidApiKeyGetterReturnType => "INVALID_API_KEY_GETTER_RETURN_TYPE",
            ServerOnlyProperty => "SERVER_ONLY_PROPERTY",
            FailedToUpdateApiKey => "FAILED_TO_UPDATE_API_KEY",
            NameRequired => "NAME_REQUIRED",
            OrganizationIdRequired => "ORGANIZATION_ID_REQUIRED",
            UserNotMemberOfOrganization => "USER_NOT_MEMBER_OF_ORGANIZATION",
            InsufficientApiKeyPermissions => "INSUFFICIENT_API_KEY_PERMISSIONS",
            NoDefaultApiKeyConfigurationFound => "NO_DEFAULT_API_KEY_CONFIGURATION_FOUND",
            OrganizationPluginRequired => "ORGANIZATION_PLUGIN_REQUIRED",
            InvalidUsernameOrPassword => "INVALID_USERNAME_OR_PASSWORD",
            UsernameIsAlreadyTaken => "USERNAME_IS_ALREADY_TAKEN",
            UsernameTooShort => "USERNAME_TOO_SHORT",
            UsernameTooLong => "USERNAME_TOO_LONG",
            InvalidUsername => "INVALID_USERNAME",
            InvalidDisplayUsername => "INVALID_DISPLAY_USERNAME",
            UsernameIsImmutable => "USERNAME_IS_IMMUTABLE",
            OtpNotEnabled => "OTP_NOT_ENABLED",
            OtpNotConfigured => "OTP_NOT_CONFIGURED",
            OtpHasExpired => "OTP_HAS_EXPIRED",
            TotpNotEnabled => "TOTP_NOT_ENABLED",
            TotpAlreadyEnabled => "TOTP_ALREADY_ENABLED",
            TotpNotConfigured => "TOTP_NOT_CONFIGURED",
            TwoFactorNotEnabled => "TWO_FACTOR_NOT_ENABLED",
            BackupCodesNotEnabled => "BACKUP_CODES_NOT_ENABLED",
            InvalidBackupCode => "INVALID_BACKUP_CODE",
            InvalidCode => "INVALID_CODE",
            TooManyAttemptsRequestNewCode => "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
            AccountTemporarilyLocked => "ACCOUNT_TEMPORARILY_LOCKED",
            InvalidTwoFactorCookie => "INVALID_TWO_FACTOR_COOKIE",
            AnonymousUsersCannotSignInAgainAnonymously => {
                "ANONYMOUS_USERS_CANNOT_SIGN_IN_AGAIN_ANONYMOUSLY"
            }
            UserIsNotAnonymous => "USER_IS_NOT_ANONYMOUS",
            DeleteAnonymousUserDisabled => "DELETE_ANONYMOUS_USER_DISABLED",
            InvalidSessionToken => "INVALID_SESSION_TOKEN",
        }
    }

    /// better-auth's default message for the code.
    pub fn message(&self) -> &'static str {
        use ErrorCode::*;
        match self {
            UserNotFound => "User not found",
            FailedToCreateUser => "Failed to create user",
            FailedToCreateSession => "Failed to create session",
            FailedToUpdateUser => "Failed to update user",
            FailedToGetSession => "Failed to get session",
            InvalidPassword => "Invalid password",
            InvalidEmail => "Invalid email",
            InvalidEmailOrPassword => "Invalid email or password",
            InvalidUser => "Invalid user",
            InvalidToken => "Invalid token",
            TokenExpired => "Token expired",
            EmailNotVerified => "Email not verified",
            PasswordTooShort => "Password too short",
            PasswordTooLong => "Password too long",
            UserAlreadyExists => "User already exists.",
            UserAlreadyExistsUseAnotherEmail => "User already exists. Use another email.",
            EmailCanNotBeUpdated => "Email can not be updated",
            ChangeEmailDisabled => "Change email is disabled",
            CredentialAccountNotFound => "Credential account not found",
            SessionExpired => "Session expired. Re-authenticate to perform this action.",
            SessionNotFresh => "Session is not fresh",
            AccountNotFound => "Account not found",
            CrossSiteNavigationLoginBlocked => {
                "Cross-site navigation login blocked. This request appears to be a CSRF attack."
            }
            VerificationEmailNotEnabled => "Verification email isn't enabled",
            EmailAlreadyVerified => "Email is already verified",
            EmailMismatch => "Email mismatch",
            InvalidOrigin => "Invalid origin",
            InvalidCallbackUrl => "Invalid callbackURL",
            InvalidRedirectUrl => "Invalid redirectURL",
            InvalidErrorCallbackUrl => "Invalid errorCallbackURL",
            InvalidNewUserCallbackUrl => "Invalid newUserCallbackURL",
            MissingOrNullOrigin => "Missing or null Origin",
            FieldNotAllowed => "Field not allowed to be set",
            ValidationError => "Validation Error",
            MissingField => "Field is required",
            MethodNotAllowedDeferSessionRequired => {
                "POST method requires deferSessionRefresh to be enabled in session config"
            }
            BodyMustBeAnObject => "Body must be an object",
            Unauthorized => "Unauthorized",
            ResetPasswordDisabled => "Reset password isn't enabled",
            UnsupportedMediaType => "Unsupported media type",
            BadRequest => "Bad request",
            FailedToGetUserInfo => "Failed to get user info",
            // organization plugin (better-auth-api.md §7.9)
            YouAreNotAllowedToCreateANewOrganization => {
                "You are not allowed to create a new organization"
            }
            YouHaveReachedTheMaximumNumberOfOrganizations => {
                "You have reached the maximum number of organizations"
            }
            OrganizationAlreadyExists => "Organization already exists",
            OrganizationSlugAlreadyTaken => "Organization slug already taken",
            OrganizationNotFound => "Organization not found",
            UserIsNotAMemberOfTheOrganization => "User is not a member of the organization",
            YouAreNotAllowedToUpdateThisOrganization => {
                "You are not allowed to update this organization"
            }
            YouAreNotAllowedToDeleteThisOrganization => {
                "You are not allowed to delete this organization"
            }
            NoActiveOrganization => "No active organization",
            UserIsAlreadyAMemberOfThisOrganization => {
                "User is already a member of this organization"
            }
            MemberNotFound => "Member not found",
            RoleNotFound => "Role not found",
            YouAreNotAllowedToCreateANewTeam => "You are not allowed to create a new team",
            TeamAlreadyExists => "Team already exists",
            TeamNotFound => "Team not found",
            YouCannotLeaveTheOrganizationAsTheOnlyOwner => {
                "You cannot leave the organization as the only owner"
            }
            YouCannotLeaveTheOrganizationWithoutAnOwner => {
                "You cannot leave the organization without an owner"
            }
            YouAreNotAllowedToDeleteThisMember => "You are not allowed to delete this member",
            YouAreNotAllowedToInviteUsersToThisOrganization => {
                "You are not allowed to invite users to this organization"
            }
            UserIsAlreadyInvitedToThisOrganization => {
                "User is already invited to this organization"
            }
            InvitationNotFound => "Invitation not found",
            YouAreNotTheRecipientOfTheInvitation => "You are not the recipient of the invitation",
            EmailVerificationRequiredBeforeAcceptingOrRejectingInvitation => {
                "Email verification required before accepting or rejecting invitation"
            }
            EmailVerificationRequiredForInvitation => {
                "Email verification required to view or list invitations for the session email"
            }
            YouAreNotAllowedToCancelThisInvitation => {
                "You are not allowed to cancel this invitation"
            }
            InviterIsNoLongerAMemberOfTheOrganization => {
                "Inviter is no longer a member of the organization"
            }
            YouAreNotAllowedToInviteUserWithThisRole => {
                "You are not allowed to invite a user with this role"
            }
            FailedToRetrieveInvitation => "Failed to retrieve invitation",
            YouHaveReachedTheMaximumNumberOfTeams => "You have reached the maximum number of teams",
            UnableToRemoveLastTeam => "Unable to remove last team",
            YouAreNotAllowedToUpdateThisMember => "You are not allowed to update this member",
            OrganizationMembershipLimitReached => "Organization membership limit reached",
            YouAreNotAllowedToCreateTeamsInThisOrganization => {
                "You are not allowed to create teams in this organization"
            }
            YouAreNotAllowedToDeleteTeamsInThisOrganization => {
                "You are not allowed to delete teams in this organization"
            }
            YouAreNotAllowedToUpdateThisTeam => "You are not allowed to update this team",
            YouAreNotAllowedToDeleteThisTeam => "You are not allowed to delete this team",
            InvitationLimitReached => "Invitation limit reached",
            TeamMemberLimitReached => "Team member limit reached",
            UserIsNotAMemberOfTheTeam => "User is not a member of the team",
            YouCanNotAccessTheMembersOfThisTeam => {
                "You are not allowed to list the members of this team"
            }
            YouDoNotHaveAnActiveTeam => "You do not have an active team",
            YouAreNotAllowedToCreateANewTeamMember => "You are not allowed to create a new member",
            YouAreNotAllowedToRemoveATeamMember => "You are not allowed to remove a team member",
            YouAreNotAllowedToAccessThisOrganization => {
                "You are not allowed to access this organization as an owner"
            }
            YouAreNotAMemberOfThisOrganization => "You are not a member of this organization",
            InvalidTeamId => "Team id contains a reserved character",
            YouAreNotAllowedToListInvitations => "You are not allowed to list invitations",
            // api-key plugin (better-auth-api.md §8.8)
            InvalidMetadataType => "metadata must be an object or undefined",
            RefillAmountAndIntervalRequired => "refillAmount is required when refillInterval is provided",
            RefillIntervalAndAmountRequired => "refillInterval is required when refillAmount is provided",
            UserBanned => "User is banned",
            UnauthorizedSession => "Unauthorized or invalid session",
            KeyNotFound => "API Key not found",
            KeyDisabled => "API Key is disabled",
            KeyExpired => "API Key has expired",
            UsageExceeded => "API Key has reached its usage limit",
            KeyNotRecoverable => "API Key is not recoverable",
            ExpiresInIsTooSmall => "The expiresIn is smaller than the predefined minimum value.",
            ExpiresInIsTooLarge => "The expiresIn is larger than the predefined maximum value.",
            InvalidRemaining => "The remaining count is either too large or too small.",
            InvalidPrefixLength => "The prefix length is either too large or too small.",
            InvalidNameLength => "The name length is either too large or too small.",
            MetadataDisabled => "Metadata is disabled.",
            RateLimitExceeded => "Rate limit exceeded.",
            RateLimited => "Rate limit exceeded.",
            NoValuesToUpdate => "No values to update.",
            KeyDisabledExpiration => "Custom key expiration values are disabled.",
            InvalidApiKey => "Invalid API key.",
            InvalidUserIdFromApiKey => "The user id from the API key is invalid.",
            InvalidReferenceIdFromApiKey => "The reference id from the API key is invalid.",
            InvalidApiKeyGetterReturnType => "API Key getter returned an invalid key type. Expected string.",
            ServerOnlyProperty => "The property you're trying to set can only be set from the server auth instance only.",
            FailedToUpdateApiKey => "Failed to update API key",
            NameRequired => "API Key name is required.",
            OrganizationIdRequired => "Organization ID is required for organization-owned API keys.",
            UserNotMemberOfOrganization => "You are not a member of the organization that owns this API key.",
            InsufficientApiKeyPermissions => "You do not have permission to perform this action on organization API keys.",
            NoDefaultApiKeyConfigurationFound => "No default api-key configuration found.",
            OrganizationPluginRequired => "Organization plugin is required for organization-owned API keys. Please install and configure the organization plugin.",
            InvalidUsernameOrPassword => "Invalid username or password",
            UsernameIsAlreadyTaken => "Username is already taken. Please try another.",
            UsernameTooShort => "Username is too short",
            UsernameTooLong => "Username is too long",
            InvalidUsername => "Username is invalid",
            InvalidDisplayUsername => "Display username is invalid",
            UsernameIsImmutable => "Username cannot be updated",
            OtpNotEnabled => "OTP not enabled",
            OtpNotConfigured => "OTP is not available",
            OtpHasExpired => "OTP has expired",
            TotpNotEnabled => "TOTP not enabled",
            TotpAlreadyEnabled => "TOTP is already enabled",
            TotpNotConfigured => "TOTP is not available",
            TwoFactorNotEnabled => "Two factor isn't enabled",
            BackupCodesNotEnabled => "Backup codes aren't enabled",
            InvalidBackupCode => "Invalid backup code",
            InvalidCode => "Invalid code",
            TooManyAttemptsRequestNewCode => "Too many attempts. Please request a new code.",
            AccountTemporarilyLocked => "Too many failed verification attempts. Your account is temporarily locked. Please try again later.",
            InvalidTwoFactorCookie => "Invalid two factor cookie",
            AnonymousUsersCannotSignInAgainAnonymously => "Anonymous users cannot sign in again anonymously",
            UserIsNotAnonymous => "User is not anonymous",
            DeleteAnonymousUserDisabled => "Deleting anonymous users is disabled",
            InvalidSessionToken => "Invalid session token",
        }
    }
}

/// Everything that can go wrong in the slice. Client-facing variants carry exactly what the
/// client sees; the others become an empty 500 and a log line.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// A better-auth error answer: `{"message", "code"?}` with `status`.
    #[error("{status} {}: {message}", code.map(|c| c.as_str()).unwrap_or("-"))]
    Api {
        status: StatusCode,
        code: Option<ErrorCode>,
        message: Cow<'static, str>,
    },
    /// A bare status with an empty body (e.g. a disabled endpoint's 404).
    #[error("{0} (empty body)")]
    Status(StatusCode),
    #[error("storage failed: {0}")]
    Repo(#[from] RepoError),
    #[error("queuing an email failed: {0}")]
    Mail(#[from] MailError),
    #[error("password hashing failed: {0}")]
    Password(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// The API-key plugin's per-key limiter (§8.5): 429 `RATE_LIMITED` with
    /// `details.tryAgainIn` (milliseconds).
    #[error("429 RATE_LIMITED: try again in {try_again_in_ms} ms")]
    KeyRateLimited { try_again_in_ms: i64 },
}

impl From<sqlx::Error> for IamError {
    fn from(error: sqlx::Error) -> Self {
        IamError::Repo(RepoError::from(error))
    }
}

impl IamError {
    /// `status` with the code's default message.
    pub fn api(status: StatusCode, code: ErrorCode) -> Self {
        IamError::Api {
            status,
            code: Some(code),
            message: Cow::Borrowed(code.message()),
        }
    }

    /// `status` with the code and a message of its own.
    pub fn api_with(
        status: StatusCode,
        code: ErrorCode,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        IamError::Api {
            status,
            code: Some(code),
            message: message.into(),
        }
    }

    /// `status` with a message and no code (better-auth's ad-hoc errors).
    pub fn message_only(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        IamError::Api {
            status,
            code: None,
            message: message.into(),
        }
    }

    pub fn bad_request(code: ErrorCode) -> Self {
        Self::api(StatusCode::BAD_REQUEST, code)
    }

    pub fn unauthorized(code: ErrorCode) -> Self {
        Self::api(StatusCode::UNAUTHORIZED, code)
    }

    pub fn forbidden(code: ErrorCode) -> Self {
        Self::api(StatusCode::FORBIDDEN, code)
    }

    /// 400 `VALIDATION_ERROR` with better-auth's `[body.field] text` issue list.
    pub fn validation(issues: impl Into<Cow<'static, str>>) -> Self {
        Self::api_with(StatusCode::BAD_REQUEST, ErrorCode::ValidationError, issues)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        IamError::Internal(message.into())
    }

    /// The status the client receives.
    pub fn status(&self) -> StatusCode {
        match self {
            IamError::Api { status, .. } => *status,
            IamError::Status(status) => *status,
            IamError::KeyRateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ if self.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The database could not be used (unreachable, connection lost, pool exhausted).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, IamError::Repo(repo) if repo.is_unavailable())
    }

    /// The machine code, when the answer has one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            IamError::Api { code, .. } => *code,
            IamError::KeyRateLimited { .. } => Some(ErrorCode::RateLimited),
            _ => None,
        }
    }
}

/// The message of the 503 answered while the database is unavailable.
pub const SERVICE_UNAVAILABLE_MESSAGE: &str = "The service is temporarily unavailable; retry later";

/// The one mapping to HTTP. Bodies are JSON (`Content-Type: application/json`, also for the
/// empty-body statuses, as better-auth sends them); infrastructure faults are logged here and
/// leave as an empty 500.
impl IntoResponse for IamError {
    fn into_response(self) -> Response {
        let json = HeaderValue::from_static("application/json");
        match self {
            IamError::Api {
                status,
                code,
                message,
            } => {
                let mut body = serde_json::Map::new();
                body.insert("message".into(), message.into_owned().into());
                if let Some(code) = code {
                    body.insert("code".into(), code.as_str().into());
                }
                let mut response =
                    (status, serde_json::Value::Object(body).to_string()).into_response();
                response.headers_mut().insert(header::CONTENT_TYPE, json);
                response
            }
            IamError::Status(status) => {
                let mut response = status.into_response();
                response.headers_mut().insert(header::CONTENT_TYPE, json);
                response
            }
            IamError::KeyRateLimited { try_again_in_ms } => {
                let body = serde_json::json!({
                    "message": ErrorCode::RateLimited.message(),
                    "code": ErrorCode::RateLimited.as_str(),
                    "details": { "tryAgainIn": try_again_in_ms },
                });
                let mut response =
                    (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
                response.headers_mut().insert(header::CONTENT_TYPE, json);
                response
            }
            unavailable if unavailable.is_unavailable() => {
                tracing::debug!(error = %unavailable, "auth request refused: database unavailable");
                let body = serde_json::json!({
                    "message": SERVICE_UNAVAILABLE_MESSAGE,
                    "code": "SERVICE_UNAVAILABLE",
                });
                let mut response =
                    (StatusCode::SERVICE_UNAVAILABLE, body.to_string()).into_response();
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, json);
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(shared_server::db::RETRY_AFTER_SECONDS),
                );
                response
            }
            other => {
                tracing::error!(error = %other, "auth request failed");
                let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                response.headers_mut().insert(header::CONTENT_TYPE, json);
                response
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> (StatusCode, String) {
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("read body");
        (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
    }

    #[tokio::test]
    async fn errors_take_better_auths_shape() {
        let (status, text) =
            body(IamError::unauthorized(ErrorCode::InvalidEmailOrPassword).into_response()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"message": "Invalid email or password", "code": "INVALID_EMAIL_OR_PASSWORD"})
        );

        let (status, text) = body(
            IamError::message_only(StatusCode::BAD_REQUEST, "No fields to update").into_response(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(text, r#"{"message":"No fields to update"}"#);

        let (status, text) =
            body(IamError::internal("db exploded: secret details").into_response()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(text.is_empty(), "internals never reach the client: {text}");
    }
}

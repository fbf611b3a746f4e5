/**
 * Sign-in links (issue 14, SIGN_IN_LINKS=on): POST /signin/link asks for a mail with a link and
 * always answers 202 alike (the work is done after the answer, core/login/sign-in-links.ts); the
 * link's token is redeemed at POST /token as the SIGN_IN_LINK_GRANT (token-routes.ts). With
 * SIGN_IN_LINKS=off the route answers 404 with a detail that says so.
 */
import type { FastifyInstance } from 'fastify';
import type { Portcullis } from '../../core/portcullis.js';
import { registerAccountMailRoute } from './account-mail-route.js';

/** The one answer to every accepted request, whether or not a mail is sent. */
export const SIGN_IN_LINK_ANSWER = Object.freeze({
  detail: 'If an account matches and has an e-mail address, a message with a sign-in link is on its way',
});

export function registerSignInLinkRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  registerAccountMailRoute(app, {
    path: '/signin/link',
    operationId: 'requestSignInLink',
    summary: 'Ask for a sign-in link by mail',
    description:
      'SIGN_IN_LINKS=on only. Give exactly one of `email` and `username`. Always 202 with the same body and headers, ' +
      'whether or not the account exists, is disabled or has an e-mail address; the look-up and the mail are done ' +
      "after the answer. The mail goes to the account's address, verified or not, and carries a single-use token " +
      '(SIGN_IN_LINK_TTL_MINUTES, 15 by default) for `POST /token` with ' +
      '`grant_type=urn:portcullis:params:oauth:grant-type:sign-in-link`. Limited per client address (429) and per ' +
      'account (SIGN_IN_LINK_MAILS_PER_HOUR: past it, the same 202 and no mail).',
    accepted: 'Accepted: a mail is sent if an account matches',
    answer: SIGN_IN_LINK_ANSWER,
    errors: { 404: 'Sign-in links are off on this server (SIGN_IN_LINKS=off)' },
    request: (who, context) => portcullis.requestSignInLink(who, context),
  });
}

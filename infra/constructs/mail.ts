import { CfnOutput, Stack } from 'aws-cdk-lib';
import {
  CloudWatchDimensionSource,
  ConfigurationSet,
  ConfigurationSetTlsPolicy,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { MailSender } from './app-function.js';

export interface MailProps {
  /** Sending domain (an SES domain identity). */
  readonly domain: string;
  readonly fromAddress: string;
  /** Create the domain identity (and print its DKIM records) or use one that already exists in the account. */
  readonly createIdentity: boolean;
  /** Verified recipient identities while the account is in the SES sandbox. */
  readonly sandboxRecipients: readonly string[];
}

/** The message tag the notifier may set to split the SES metrics by kind of email (reset, incident, notice). */
export const mailKindTag = 'mail-kind';

/**
 * SES v2 sending setup: the configuration set every security email goes through. Bounces and complaints put the
 * address on the suppression list (so a dead mailbox is not retried and our reputation is kept), delivery
 * requires TLS (reset links must not travel in clear), and an event destination publishes send, delivery,
 * bounce, complaint and reject counts to CloudWatch for dashboards and alarms.
 */
export class Mail extends Construct {
  readonly configurationSet: ConfigurationSet;
  readonly sender: MailSender;

  constructor(scope: Construct, id: string, props: MailProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      reputationMetrics: true,
      sendingEnabled: true,
      tlsPolicy: ConfigurationSetTlsPolicy.REQUIRE,
    });
    this.configurationSet.addEventDestination('CloudWatchEvents', {
      destination: EventDestination.cloudWatchDimensions([
        { name: mailKindTag, source: CloudWatchDimensionSource.MESSAGE_TAG, defaultValue: 'untagged' },
      ]),
      events: [
        EmailSendingEvent.SEND,
        EmailSendingEvent.DELIVERY,
        EmailSendingEvent.BOUNCE,
        EmailSendingEvent.COMPLAINT,
        EmailSendingEvent.REJECT,
        EmailSendingEvent.RENDERING_FAILURE,
      ],
    });

    if (props.createIdentity) {
      const identity = new EmailIdentity(this, 'DomainIdentity', {
        identity: Identity.domain(props.domain),
        // Mail from this domain goes through the configuration set even if a caller forgets to name it.
        configurationSet: this.configurationSet,
      });
      identity.dkimRecords.forEach((record, index) => {
        new CfnOutput(this, `DkimRecord${index + 1}`, {
          description: `DKIM CNAME ${index + 1} to publish in the DNS of ${props.domain}`,
          value: `${record.name} CNAME ${record.value}`,
        });
      });
    }

    const identityArn = (identity: string) =>
      stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity });
    this.sender = {
      fromAddress: props.fromAddress,
      identityArns: [identityArn(props.domain), ...props.sandboxRecipients.map(identityArn)],
      configurationSetName: this.configurationSet.configurationSetName,
      configurationSetArn: stack.formatArn({
        service: 'ses',
        resource: 'configuration-set',
        resourceName: this.configurationSet.configurationSetName,
      }),
    };
  }
}

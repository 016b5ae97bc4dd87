"""Help-center questions and the article that answers each, written for this project.

Three per article of `ingestion/help_center/`; none is taken from
`bench/data/retrieval_questions.jsonl` (a test checks).
"""

from __future__ import annotations

QUESTIONS: dict[str, list[str]] = {
    "account-and-sign-in.md": [
        "How do I change the email address on my account?",
        "My account got locked after too many password attempts, what now?",
        "Can I turn on two-step verification for signing in?",
    ],
    "cancelling-an-order.md": [
        "Is there a time limit for cancelling an order myself on the website?",
        "What happens to my payment if I cancel an order?",
        "Can I cancel an order after it has already shipped?",
    ],
    "care-and-product-safety.md": [
        "How should I wash the merino socks to keep them soft?",
        "Is any of your products part of a safety recall?",
        "How do I report a battery that got really hot while charging?",
    ],
    "changing-an-order-or-address.md": [
        "I typed the wrong shipping address, can it still be changed?",
        "Can I add a gift message to an order I already placed?",
        "Can I change the size of an item in an order that hasn't shipped?",
    ],
    "contacting-support.md": [
        "What are the opening hours of your support team?",
        "Is there a phone number I can call for help?",
        "How do I escalate a complaint if I'm unhappy with the answer?",
    ],
    "damaged-or-defective-items.md": [
        "How many days do I have to report an item that arrived damaged?",
        "Do I need to send back a broken item to get a replacement?",
        "What if a defect only shows up after a few months of use?",
    ],
    "declined-payments.md": [
        "Why would my card be declined at checkout?",
        "My Klarna payment was declined, what can I do?",
        "The payment failed after I placed the order, is the order still valid?",
    ],
    "domestic-shipping.md": [
        "How much does standard shipping cost within the US?",
        "Do you deliver to PO boxes and military addresses?",
        "Can I get overnight shipping to Hawaii?",
    ],
    "double-charges-and-pending-authorizations.md": [
        "I see two amounts on my card, is one of them just an authorisation hold?",
        "How long does a pending authorisation stay on my card?",
        "Should I open a dispute with my bank if I think I was charged twice?",
    ],
    "exchanges.md": [
        "How do I request an exchange for a different size?",
        "What happens if the size I want to exchange for is out of stock?",
        "When does the replacement ship in an exchange?",
    ],
    "final-sale-and-non-returnable-items.md": [
        "Can I return an item that was marked final sale?",
        "Which items can never be returned?",
        "I bought a final-sale item by mistake, is there anything you can do?",
    ],
    "gift-cards.md": [
        "How do I check the balance on my gift card?",
        "Do your gift cards expire?",
        "Can a gift card be exchanged for cash?",
    ],
    "international-shipping.md": [
        "Will I have to pay import duties when ordering from abroad?",
        "Are there products you cannot ship internationally?",
        "My international parcel is stuck in customs, what should I do?",
    ],
    "invoices-and-receipts.md": [
        "How can I add my company's VAT number to an invoice?",
        "Where do I get an invoice for my order?",
        "Do I get a credit note when an order is refunded?",
    ],
    "lost-or-delayed-packages.md": [
        "Tracking says delivered but I don't have the parcel, what should I do?",
        "The package was returned to sender, what happens now?",
        "Are deliveries slower during the holiday peak season?",
    ],
    "missing-or-wrong-items.md": [
        "An item is missing from my parcel, how do I report it?",
        "I received someone else's order, what should I do with it?",
        "The product looks different from the photo on the website",
    ],
    "order-and-reference-numbers.md": [
        "What format do your order numbers have?",
        "Is the invoice number the same as my order number?",
        "Which numbers will your staff never ask me for?",
    ],
    "order-processing-and-tracking.md": [
        "What do the different order statuses mean?",
        "When will I receive a tracking number?",
        "Can the courier leave my parcel in a safe place without a signature?",
    ],
    "oversized-item-delivery.md": [
        "How is delivery of large furniture scheduled?",
        "What happens if I miss the delivery appointment for a big item?",
        "Should I inspect an oversized item before the driver leaves?",
    ],
    "payment-methods.md": [
        "Which payment methods does the shop accept?",
        "When exactly is my card charged for an order?",
        "Is it safe to save my card on my account?",
    ],
    "preorders-and-backorders.md": [
        "At what point does my card get charged for a pre-ordered item?",
        "What is the difference between a pre-order and a backorder?",
        "Will you restock items that are sold out?",
    ],
    "price-adjustments.md": [
        "The item I bought is now cheaper, can I get a price adjustment?",
        "How do I ask for a price adjustment?",
        "Which purchases are not eligible for a price adjustment?",
    ],
    "privacy-data-export-and-deletion.md": [
        "How do I download a copy of my personal data?",
        "What data do you keep after I delete my account?",
        "How do I unsubscribe from marketing emails?",
    ],
    "promo-codes-and-discounts.md": [
        "I forgot to enter my promo code at checkout, can it still be applied?",
        "Why is my discount code not working?",
        "Is there a discount for students?",
    ],
    "refund-policy.md": [
        "Why do refunds over 200 dollars need approval?",
        "Does my refund go back to the original payment method?",
        "Is the original shipping fee included when you refund me?",
    ],
    "refund-status-and-timing.md": [
        "What are the stages a refund goes through?",
        "My refund still hasn't arrived after ten days, what now?",
        "How are refunds for cancelled orders handled?",
    ],
    "return-policy.md": [
        "How many days do I have to return something?",
        "In what condition do returned items need to be?",
        "Can I choose store credit instead of a refund when I return something?",
    ],
    "return-shipping-costs.md": [
        "Do I have to pay for the return label in the US?",
        "How much does it cost to return an oversized item?",
        "When do you pay the full cost of a return?",
    ],
    "return-window-exceptions.md": [
        "Do holiday purchases get a longer return window?",
        "Do Switchboard Plus members get extra time to return items?",
        "Can I return something late if the delivery itself was delayed?",
    ],
    "returning-electronics-accessories.md": [
        "Can I return headphones I've already opened?",
        "Which electronics can't be returned once the packaging is opened?",
        "What should I do before sending a device back?",
    ],
    "returning-gifts.md": [
        "How do I return a gift without the giver finding out?",
        "Who gets the refund when a gift is returned?",
        "What do I need to return something I got as a present?",
    ],
    "sales-tax-and-exemptions.md": [
        "Is sales tax refunded when I return an item?",
        "How can a tax-exempt organisation buy without paying sales tax?",
        "Do international orders include US sales tax?",
    ],
    "size-and-fit.md": [
        "How do your clothing sizes run?",
        "How do I find my shoe size in your shop?",
        "What should I do if something doesn't fit?",
    ],
    "starting-a-return.md": [
        "What are the steps to start a return?",
        "How should I pack the items I'm sending back?",
        "Can I cancel a return after I've requested it?",
    ],
    "store-credit.md": [
        "How do I use my store credit at checkout?",
        "Is there an expiry date on store credit?",
        "What is the difference between store credit and a gift card?",
    ],
    "switchboard-plus-billing-and-cancellation.md": [
        "How does the Switchboard Plus renewal work?",
        "Is there a free trial of Switchboard Plus?",
        "Can I get my membership fee back if I cancel Plus?",
    ],
    "switchboard-plus-membership.md": [
        "What benefits does Switchboard Plus give me?",
        "How do I join Switchboard Plus?",
        "Do Plus members earn rewards on purchases?",
    ],
    "warranty.md": [
        "How long does the warranty last?",
        "What does the warranty not cover?",
        "How do I make a warranty claim?",
    ],
}
